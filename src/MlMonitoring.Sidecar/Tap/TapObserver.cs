using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Ingest;
using MlMonitoring.Sidecar.Tap.Protocols;

namespace MlMonitoring.Sidecar.Tap;

/// <summary>
/// Reads the calls the tap forwarded, one at a time and after they ended, and turns each into prediction events
/// that join the one path at validation (<see cref="BatchIngestor"/>), plus the GenAI measurements of LLM calls.
/// Nothing here runs on the forwarding path.
/// </summary>
internal sealed partial class TapObserver(
    TapObserverQueue queue, BatchIngestor ingestor, GenAiInstruments genAi, TapMetrics metrics, IOptions<TapOptions> options, IOptions<IngestOptions> ingest, ILogger<TapObserver> logger)
    : BackgroundService
{
    private readonly ObservationContext _context = new(options.Value, new ObservedEvents(ingest.Value.MaxBatchSize), metrics);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var call in queue.Reader.ReadAllAsync(stoppingToken))
            {
                try
                {
                    await ObserveAsync(call, stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A call the readers did not foresee must not stop the observation of the next ones.
                    metrics.CountSkipped(SkipReason.Unparsable);
                    LogObservationFailed(logger, e, TapMetrics.OperationLabel(call.Operation));
                }
                finally
                {
                    call.Release();
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Observes one call; also the entry point of the tests, which observe calls without a queue.</summary>
    internal async ValueTask ObserveAsync(TappedCall call, CancellationToken cancellationToken)
    {
        var events = _context.Events;
        events.Clear();
        switch (call.Operation)
        {
            case TapOperation.OpenInferenceRest:
                OpenInferenceRest.Read(call, _context);
                break;
            case TapOperation.OpenInferenceGrpc:
                OpenInferenceGrpc.Read(call, _context);
                break;
            case TapOperation.KServeV1:
                KServeV1.Read(call, _context);
                break;
            default:
                if (OpenAiCompatible.Read(call, _context) is { } measured)
                {
                    genAi.Record(measured);
                }

                break;
        }

        if (events.Truncated)
        {
            metrics.CountSkipped(SkipReason.BatchTooLarge);
        }

        // No events: the call could not be attributed to a model; the readers counted why.
        if (events.Count > 0)
        {
            await ingestor.IngestInTurnAsync(events.Memory, IngestRpc.Tap, cancellationToken);
        }
    }

    [LoggerMessage(EventId = 61, EventName = "TapObservationFailed", Level = LogLevel.Warning, Message = "The tap could not observe a {Operation} call")]
    private static partial void LogObservationFailed(ILogger logger, Exception exception, string operation);
}

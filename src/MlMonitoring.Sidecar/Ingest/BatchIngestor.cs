using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Drift;
using MlMonitoring.Sidecar.GroundTruth;
using MlMonitoring.Sidecar.Metrics;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Ingest;

/// <summary>
/// The one path of an event: validation, then recording, then the shared state and drift. Batches are partial: each valid event is recorded
/// whatever its neighbours are, and each refused one is reported by its index.
/// </summary>
internal sealed class BatchIngestor(
    PredictionValidator validator, PredictionRecorder recorder, GroundTruthJoiner joiner, DriftRegistry drift, SidecarMetrics selfMetrics, TimeProvider time)
    : IDisposable
{
    /// <summary>
    /// Batches are recorded one at a time. Concurrent streams would otherwise meet on every event at the same
    /// per-series locks and counters (one model's statistics, drift window and shared state), and with more streams
    /// than cores a thread preempted inside one makes the others spin; taking turns costs one wait per batch and
    /// leaves the other cores to parsing, the transport and the model. Single events (unary calls) do not wait.
    /// </summary>
    private readonly SemaphoreSlim _batchTurn = new(1, 1);

    /// <summary>Validates and records one event; returns the violation that refused it, if any.</summary>
    public Violation? Ingest(IncomingPrediction e) => Ingest(e, time.GetUtcNow());

    private Violation? Ingest(IncomingPrediction e, DateTimeOffset now)
    {
        var violation = validator.Validate(e);
        if (violation is null)
        {
            var recorded = recorder.Record(e, now);
            joiner.Remember(e, recorded);
            drift.Observe(recorded);
        }
        else
        {
            selfMetrics.CountRejected(violation.Field);
        }

        return violation;
    }

    /// <summary>Ingests a batch once no other batch is being recorded; see <see cref="_batchTurn"/>.</summary>
    public async ValueTask<RecordResponse> IngestInTurnAsync(ReadOnlyMemory<IncomingPrediction> events, IngestRpc rpc, CancellationToken cancellationToken)
    {
        await _batchTurn.WaitAsync(cancellationToken);
        try
        {
            return Ingest(events.Span, rpc);
        }
        finally
        {
            _batchTurn.Release();
        }
    }

    /// <summary>Ingests every event of a batch and says which were refused.</summary>
    public RecordResponse Ingest(ReadOnlySpan<IncomingPrediction> events, IngestRpc rpc)
    {
        selfMetrics.CountReceived(rpc, events.Length);
        var response = new RecordResponse();
        var now = time.GetUtcNow();
        for (var i = 0; i < events.Length; i++)
        {
            if (Ingest(events[i], now) is { } violation)
            {
                ContractLimits.Reject(response, i, violation.Reason);
            }
        }

        response.Accepted = (ulong)events.Length - response.Rejected;
        return response;
    }

    public void Dispose() => _batchTurn.Dispose();
}

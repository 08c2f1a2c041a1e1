using System.Diagnostics.Metrics;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.SharedState;

/// <summary>
/// How the shared state is doing, as self-metrics: failed operations, writes dropped because the store could not
/// keep up, and whether the last operation succeeded. Predictions are counted whatever the store's state.
/// </summary>
internal sealed partial class SharedStateHealth
{
    private readonly Counter<long> _failures;
    private readonly Counter<long> _droppedWrites;
    private readonly ILogger<SharedStateHealth> _logger;
    private int _healthy = 1;

    public SharedStateHealth(IMeterFactory meterFactory, ILogger<SharedStateHealth> logger)
    {
        _logger = logger;
        var meter = meterFactory.Create(MeterNames.Sidecar);
        _failures = meter.CreateCounter<long>(
            "ml_sidecar_shared_state_failures", description: "Shared-state store operations that failed (and were retried where they were writes).");
        _droppedWrites = meter.CreateCounter<long>(
            "ml_sidecar_shared_state_dropped", description: "Predictions not remembered because the store's write queue was full.");
        meter.CreateObservableGauge(
            "ml_sidecar_shared_state_up", () => Volatile.Read(ref _healthy), description: "1 while the shared state answers, 0 after a failure.");
    }

    public bool IsHealthy => Volatile.Read(ref _healthy) == 1;

    public void ReportSuccess() => Volatile.Write(ref _healthy, 1);

    public void ReportWriteFailure(Exception error) => ReportFailure("write", error);

    public void ReportFailure(string operation, Exception error)
    {
        _failures.Add(1, new KeyValuePair<string, object?>("operation", operation));
        if (Interlocked.Exchange(ref _healthy, 0) == 1)
        {
            LogStoreDown(_logger, operation, error.GetType().Name, error.Message);
        }
    }

    public void CountDroppedWrite() => _droppedWrites.Add(1);

    /// <summary>The store did not answer at start: said once, naming the setting; the sidecar starts all the same.</summary>
    public void ReportUnreachableAtStart(string setting, string value, string cause)
    {
        Volatile.Write(ref _healthy, 0);
        LogUnreachableAtStart(_logger, setting, value, cause);
    }

    [LoggerMessage(EventId = 21, EventName = "JoinStoreUnreachableAtStart", Level = LogLevel.Warning,
        Message = "{Setting}: {Value} does not answer ({Cause}); starting anyway: predictions are counted and queued, labels and outcomes are refused as retryable until it answers")]
    private static partial void LogUnreachableAtStart(ILogger logger, string setting, string value, string cause);

    [LoggerMessage(EventId = 20, EventName = "JoinStoreDown", Level = LogLevel.Warning,
        Message = "Shared-state store {Operation} failed ({ErrorType}: {ErrorMessage}); predictions are still counted, labels may not join until it recovers")]
    private static partial void LogStoreDown(ILogger logger, string operation, string errorType, string errorMessage);
}

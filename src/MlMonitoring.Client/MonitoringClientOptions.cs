namespace MlMonitoring.Client;

/// <summary>Settings of a <see cref="MonitoringClient"/>.</summary>
public sealed class MonitoringClientOptions
{
    /// <summary>The sidecar's gRPC endpoint; in a pod, its loopback address.</summary>
    public Uri Endpoint { get; set; } = new("http://127.0.0.1:50051");

    /// <summary>Most events buffered while the sidecar is away or slow; past it the oldest are dropped and counted.</summary>
    public int Capacity { get; set; } = 100_000;

    /// <summary>Most events per batch on the stream.</summary>
    public int MaxBatchSize { get; set; } = 500;

    /// <summary>Longest a recorded event waits before its batch is sent.</summary>
    /// <remarks>
    /// Under load a batch leaves as soon as it is full (<see cref="MaxBatchSize"/>). Below that, every batch costs the
    /// model's process the same whatever it carries — a stream write, an acknowledgement and the thread wake-ups
    /// around them — so a short interval spends the model's CPU on batches that carry little, while a second is
    /// well inside any scrape or export interval (docs/performance-notes.md);
    /// <see cref="MonitoringClient.FlushAsync(CancellationToken)"/> sends at once.
    /// </remarks>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Batches sent and not yet acknowledged.</summary>
    public int MaxInFlightBatches { get; set; } = 8;

    /// <summary>Longest wait between two attempts to reach the sidecar.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Longest a label or outcome that the sidecar refuses as retryable (its shared store unavailable, too many
    /// labels waiting for their prediction) is sent again; then it is given up and counted
    /// (<see cref="MonitoringClient.LabelsGivenUp"/>, <see cref="MonitoringClient.OutcomesGivenUp"/>). Default 5 minutes.
    /// </summary>
    public TimeSpan RetryMaxAge { get; set; } = TimeSpan.FromMinutes(5);
}

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
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Batches sent and not yet acknowledged.</summary>
    public int MaxInFlightBatches { get; set; } = 8;

    /// <summary>Longest wait between two attempts to reach the sidecar.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(5);
}

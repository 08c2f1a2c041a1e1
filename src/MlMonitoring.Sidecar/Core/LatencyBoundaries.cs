namespace MlMonitoring.Sidecar.Core;

/// <summary>
/// The bucket boundaries of <c>ml_prediction_latency_seconds</c> and of the status window's latency counts: the
/// seed's buckets, to which the SLO capability adds every latency target of the SLO file, so that "the share of
/// requests under the target" is an exact ratio of two counters rather than an interpolation.
/// </summary>
internal sealed class LatencyBoundaries(IEnumerable<double> extraBoundaries)
{
    /// <summary>The seed's latency buckets, in seconds.</summary>
    public static readonly double[] SeedBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

    /// <summary>The seed's buckets alone.</summary>
    public LatencyBoundaries()
        : this([])
    {
    }

    /// <summary>In increasing order, without repeats.</summary>
    public double[] Values { get; } = [.. SeedBuckets.Concat(extraBoundaries).Distinct().Order()];
}

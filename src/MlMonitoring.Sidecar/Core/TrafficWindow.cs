namespace MlMonitoring.Sidecar.Core;

/// <summary>
/// Requests, errors and latency buckets of one model version over <c>Monitoring:StatusWindow</c>, for the
/// sidecar's own answer to <c>GetModelStatus</c> (Prometheus computes the same from the exported series).
/// </summary>
internal sealed class TrafficWindow(TimeSpan window, double[] latencyBoundaries)
{
    private const int SlotCount = 10;

    private readonly SlotRing<Slot> _slots = new(window, SlotCount);
    private readonly int _buckets = latencyBoundaries.Length + 1;
    private readonly Lock _gate = new();

    public TimeSpan Window { get; } = window;

    /// <summary>Upper bounds of the latency buckets (those of ml_prediction_latency_seconds); +Inf implied.</summary>
    public double[] LatencyBoundaries { get; } = latencyBoundaries;

    public void Record(double latencySeconds, bool isError, long nowMs)
    {
        var bucket = BucketOf(latencySeconds);
        lock (_gate)
        {
            if (_slots.SlotFor(nowMs, nowMs) is { } slot)
            {
                slot.LatencyCounts ??= new long[_buckets];
                slot.Requests++;
                slot.Errors += isError ? 1 : 0;
                slot.LatencyCounts[bucket]++;
            }
        }
    }

    public TrafficSnapshot Read(long nowMs)
    {
        var latency = new long[_buckets];
        long requests = 0, errors = 0;
        lock (_gate)
        {
            foreach (var slot in _slots.Live(nowMs))
            {
                requests += slot.Requests;
                errors += slot.Errors;
                for (var i = 0; slot.LatencyCounts is not null && i < latency.Length; i++)
                {
                    latency[i] += slot.LatencyCounts[i];
                }
            }
        }

        return new TrafficSnapshot(requests, errors, latency);
    }

    private int BucketOf(double latency)
    {
        var bounds = LatencyBoundaries;
        var i = 0;
        while (i < bounds.Length && latency > bounds[i])
        {
            i++;
        }

        return i;
    }

    private sealed class Slot : SlotRing<Slot>.ISlot
    {
        public long Requests;
        public long Errors;
        public long[]? LatencyCounts;

        public void Reset()
        {
            Requests = 0;
            Errors = 0;
            if (LatencyCounts is not null)
            {
                Array.Clear(LatencyCounts);
            }
        }
    }
}

/// <summary>Traffic of one window; latency counts per bucket of <see cref="TrafficWindow.LatencyBoundaries"/> and +Inf.</summary>
internal sealed record TrafficSnapshot(long Requests, long Errors, long[] LatencyCounts);

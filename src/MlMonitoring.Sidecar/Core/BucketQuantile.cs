namespace MlMonitoring.Sidecar.Core;

/// <summary>
/// Quantiles from bucket counts the way Prometheus' histogram_quantile computes them, so that what the sidecar
/// reports itself agrees with what a dashboard shows from the same buckets.
/// </summary>
internal static class BucketQuantile
{
    /// <param name="q">The quantile, 0 to 1.</param>
    /// <param name="upperBounds">Finite upper bounds, increasing; the +Inf bucket is implied.</param>
    /// <param name="counts">Per-bucket (not cumulative) counts, one more than the bounds (the last is +Inf).</param>
    /// <returns>NaN when there are no observations.</returns>
    public static double Estimate(double q, IReadOnlyList<double> upperBounds, ReadOnlySpan<long> counts)
    {
        long total = 0;
        foreach (var count in counts)
        {
            total += count;
        }

        if (total == 0)
        {
            return double.NaN;
        }

        var rank = q * total;
        long cumulative = 0;
        for (var b = 0; b < counts.Length; b++)
        {
            var previous = cumulative;
            cumulative += counts[b];
            if (cumulative < rank || counts[b] == 0)
            {
                continue;
            }

            if (b == upperBounds.Count)
            {
                return upperBounds[^1]; // in +Inf: the highest finite bound, as Prometheus answers
            }

            var start = b == 0 ? Math.Min(0, upperBounds[0]) : upperBounds[b - 1];
            return start + ((upperBounds[b] - start) * (rank - previous) / counts[b]);
        }

        return upperBounds[^1];
    }
}

using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Drift;

/// <summary>The comparison of the window with the baseline, made when the metrics are read.</summary>
internal sealed partial class DriftMonitor
{
    /// <summary>
    /// The drift picture at <paramref name="nowMs"/>: each signal's window compared with the baseline, and the terms of
    /// the estimated accuracy.
    /// </summary>
    public DriftSnapshot Read(long nowMs)
    {
        lock (_gate)
        {
            double confidenceSum = 0;
            long confidenceCount = 0;
            foreach (var slot in _window.Live(nowMs))
            {
                confidenceSum += slot.ConfidenceSum;
                confidenceCount += slot.ConfidenceCount;
            }

            var estimated = confidenceCount == 0 ? (double?)null : confidenceSum / confidenceCount;
            if (_baseline is not { } baseline)
            {
                return new DriftSnapshot(_capture?.Events ?? 0, false, estimated, []) { ConfidenceSum = confidenceSum, ConfidenceCount = confidenceCount };
            }

            var live = _window.Live(nowMs).Where(s => s.Generation == _baselineGeneration).ToList();
            var signals = new List<DriftSignal>();
            Compare(signals, "class", "", null, baseline.Classes.Categories, baseline.Classes.Counts, live.Select(s => s.Classes));
            if (baseline.Confidence is { } confidence)
            {
                Compare(signals, "confidence", "", confidence.Edges, null, confidence.Counts, live.Select(s => s.Confidence));
            }

            var quantiles = new List<FeatureQuantileCounts>();
            foreach (var feature in baseline.Features.OrderBy(f => f.FeatureName, StringComparer.Ordinal))
            {
                var ordinal = feature.Ordinal;
                if (ByOrdinal.At(baseline.Numeric, ordinal) is { } numeric)
                {
                    // A numeric feature is counted in its quantile buckets, each inside one bin: the bins' counts are their sums.
                    var buckets = Sum(numeric.QuantileBucketCount, live.Select(s => ByOrdinal.At(s.Quantiles, ordinal)));
                    Compare(signals, "feature", feature.FeatureName, numeric.Edges, null, numeric.Counts, [numeric.BinCountsOf(buckets)]);
                    if (_published)
                    {
                        quantiles.Add(new FeatureQuantileCounts(feature.FeatureName, numeric.QuantileBucketLabels, buckets));
                    }
                }

                if (ByOrdinal.At(baseline.Categorical, ordinal) is { } categorical)
                {
                    Compare(signals, "feature", feature.FeatureName, null, categorical.Categories, categorical.Counts, live.Select(s => ByOrdinal.At(s.Categorical, ordinal)));
                }
            }

            return new DriftSnapshot(baseline.Events, true, estimated, signals)
            {
                BaselineSignals = baseline.SignalCount,
                ConfidenceSum = confidenceSum,
                ConfidenceCount = confidenceCount,
                FeatureQuantiles = quantiles,
            };
        }
    }

    /// <summary>The window's counts per bin: the sum of its slots'.</summary>
    private static long[] Sum(int bins, IEnumerable<long[]?> windowCounts)
    {
        var sum = new long[bins];
        foreach (var counts in windowCounts)
        {
            if (counts is null)
            {
                continue;
            }

            for (var i = 0; i < sum.Length; i++)
            {
                sum[i] += counts[i];
            }
        }

        return sum;
    }

    private static void Compare(
        List<DriftSignal> signals, string signal, string feature, double[]? edges, string[]? categories, long[] baselineCounts, IEnumerable<long[]?> windowCounts)
    {
        var current = Sum(baselineCounts.Length, windowCounts);

        if (current.Sum() == 0)
        {
            return; // nothing to compare yet
        }

        var p = Divergence.Proportions(current);
        var q = Divergence.Proportions(baselineCounts);
        var result = new DriftSignal
        {
            Signal = signal,
            FeatureName = feature,
            Psi = Divergence.PopulationStabilityIndex(p, q),
            Js = Divergence.JensenShannonDistance(p, q),
        };
        if (edges is not null)
        {
            result.Edges.AddRange(edges);
        }

        if (categories is not null)
        {
            result.Categories.AddRange(categories);
        }

        result.BaselineCounts.AddRange(baselineCounts.Select(c => (ulong)c));
        result.CurrentCounts.AddRange(current.Select(c => (ulong)c));
        signals.Add(result);
    }
}

using MlMonitoring.Internal.V1;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Drift;

/// <summary>
/// The baseline of a numeric signal: bins at the baseline's quantiles and the baseline's count in each.
/// </summary>
internal sealed class NumericBins
{
    /// <summary>The levels of <see cref="QuantileEdges"/> besides the bins' edges: the tails, where p95 and p99 lie.</summary>
    private static readonly double[] TailLevels = [0, 0.01, 0.05, 0.95, 0.99, 1];

    private readonly int[] _binOfQuantileBucket;

    private NumericBins(double[] edges, long[] counts, double[] quantileEdges)
    {
        Edges = edges;
        Counts = counts;
        QuantileEdges = quantileEdges;
        QuantileBucketLabels = [.. quantileEdges.Select(e => e.ToString("R", System.Globalization.CultureInfo.InvariantCulture)), "+Inf"];
        // Every bin edge is a quantile edge, so each quantile bucket lies inside one bin: the bin of its upper edge.
        _binOfQuantileBucket = [.. Enumerable.Range(0, QuantileBucketCount).Select(b => b < quantileEdges.Length ? BinOf(quantileEdges[b]) : edges.Length)];
    }

    /// <summary>Inclusive upper bounds of every bin but the last, which is open.</summary>
    public double[] Edges { get; }

    public long[] Counts { get; }

    public int BinCount => Counts.Length;

    /// <summary>
    /// Upper bounds of the buckets the window's values are also counted in, for the fleet's quantiles of a feature
    /// (<c>histogram_quantile</c> over the replicas' sum): the bins' edges (the baseline's deciles by default) and its
    /// minimum, percentiles 1, 5, 95 and 99 and maximum, each on a bucket boundary of the sketch. Shared by the fleet
    /// with the baseline, so every replica's buckets have the same bounds.
    /// </summary>
    public double[] QuantileEdges { get; }

    /// <summary>The quantile buckets' upper bounds as <c>le</c> labels, the last <c>+Inf</c>; formatted once per baseline, not per scrape.</summary>
    public string[] QuantileBucketLabels { get; }

    /// <summary>Buckets of <see cref="QuantileEdges"/>: one more than the edges (the last is open).</summary>
    public int QuantileBucketCount => QuantileEdges.Length + 1;

    /// <summary>
    /// Bins at the quantiles 1/B … (B−1)/B of the sketch, each edge on a bucket boundary of the sketch, so that the
    /// baseline counts per bin are exact sums of bucket counts. Where one bucket holds several quantiles the bins
    /// merge: a feature with few distinct values gets fewer bins.
    /// </summary>
    public static NumericBins FromSketch(DDSketch sketch, int bins)
    {
        var edges = new List<double>();
        var counts = new List<long>();
        var quantileEdges = new SortedSet<double>();
        long cumulative = 0, inBin = 0;
        var next = 1;
        var tail = 0;
        foreach (var (upperBound, count) in sketch.Buckets())
        {
            cumulative += count;
            inBin += count;
            while (tail < TailLevels.Length && cumulative >= TailLevels[tail] * sketch.Count)
            {
                quantileEdges.Add(upperBound);
                tail++;
            }

            if (next < bins && cumulative >= (double)next * sketch.Count / bins)
            {
                edges.Add(upperBound);
                counts.Add(inBin);
                inBin = 0;
                while (next < bins && cumulative >= (double)next * sketch.Count / bins)
                {
                    next++;
                }
            }
        }

        counts.Add(inBin);
        quantileEdges.UnionWith(edges);
        return new NumericBins([.. edges], [.. counts], [.. quantileEdges]);
    }

    public static NumericBins FromPersisted(NumericReference persisted) =>
        new([.. persisted.Edges], [.. persisted.Counts.Select(c => (long)c)], [.. persisted.QuantileEdges]);

    public NumericReference ToPersisted()
    {
        var persisted = new NumericReference();
        persisted.Edges.AddRange(Edges);
        persisted.Counts.AddRange(Counts.Select(c => (ulong)c));
        persisted.QuantileEdges.AddRange(QuantileEdges);
        return persisted;
    }

    /// <summary>The quantile bucket of a value: the first whose edge is at least the value, else the last.</summary>
    public int QuantileBucketOf(double value)
    {
        var index = Array.BinarySearch(QuantileEdges, value);
        return index >= 0 ? index : ~index;
    }

    /// <summary>Counts per bin from counts per quantile bucket (<see cref="QuantileBucketOf"/>): each bucket lies in one bin.</summary>
    public long[] BinCountsOf(long[] quantileBucketCounts)
    {
        var bins = new long[BinCount];
        for (var bucket = 0; bucket < quantileBucketCounts.Length; bucket++)
        {
            bins[_binOfQuantileBucket[bucket]] += quantileBucketCounts[bucket];
        }

        return bins;
    }

    /// <summary>The bin of a value: the first whose edge is at least the value, else the last.</summary>
    public int BinOf(double value)
    {
        var index = Array.BinarySearch(Edges, value);
        return index >= 0 ? index : ~index;
    }
}

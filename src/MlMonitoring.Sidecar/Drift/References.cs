using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Drift.Persistence;

namespace MlMonitoring.Sidecar.Drift;

/// <summary>
/// The baseline of a numeric signal: bins at the baseline's quantiles and the baseline's count in each.
/// </summary>
internal sealed class NumericBins
{
    private NumericBins(double[] edges, long[] counts)
    {
        Edges = edges;
        Counts = counts;
    }

    /// <summary>Inclusive upper bounds of every bin but the last, which is open.</summary>
    public double[] Edges { get; }

    public long[] Counts { get; }

    public int BinCount => Counts.Length;

    /// <summary>
    /// Bins at the quantiles 1/B … (B−1)/B of the sketch, each edge on a bucket boundary of the sketch, so that the
    /// baseline counts per bin are exact sums of bucket counts. Where one bucket holds several quantiles the bins
    /// merge: a feature with few distinct values gets fewer bins.
    /// </summary>
    public static NumericBins FromSketch(DDSketch sketch, int bins)
    {
        var edges = new List<double>();
        var counts = new List<long>();
        long cumulative = 0, inBin = 0;
        var next = 1;
        foreach (var (upperBound, count) in sketch.Buckets())
        {
            cumulative += count;
            inBin += count;
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
        return new NumericBins([.. edges], [.. counts]);
    }

    public static NumericBins FromPersisted(NumericReference persisted) =>
        new([.. persisted.Edges], [.. persisted.Counts.Select(c => (long)c)]);

    public NumericReference ToPersisted()
    {
        var persisted = new NumericReference();
        persisted.Edges.AddRange(Edges);
        persisted.Counts.AddRange(Counts.Select(c => (ulong)c));
        return persisted;
    }

    /// <summary>The bin of a value: the first whose edge is at least the value, else the last.</summary>
    public int BinOf(double value)
    {
        var index = Array.BinarySearch(Edges, value);
        return index >= 0 ? index : ~index;
    }
}

/// <summary>The baseline of a categorical signal: its most frequent categories, one bin each, and an "other" bin.</summary>
internal sealed class CategoryBins
{
    private readonly Dictionary<string, int> _index;

    private CategoryBins(string[] categories, long[] counts)
    {
        Categories = categories;
        Counts = counts;
        _index = categories.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => x.i, StringComparer.Ordinal);
    }

    public string[] Categories { get; }

    /// <summary>One more than <see cref="Categories"/>: the last is "other".</summary>
    public long[] Counts { get; }

    public int BinCount => Counts.Length;

    /// <summary>The <paramref name="max"/> most frequent categories (ties by name), the rest in "other".</summary>
    public static CategoryBins FromCounts(IReadOnlyDictionary<string, long> counts, int max)
    {
        var top = counts.OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal).Take(max).ToArray();
        var other = counts.Values.Sum() - top.Sum(c => c.Value);
        return new CategoryBins([.. top.Select(c => c.Key)], [.. top.Select(c => c.Value), other]);
    }

    public static CategoryBins FromPersisted(CategoricalReference persisted) =>
        new([.. persisted.Categories], [.. persisted.Counts.Select(c => (long)c)]);

    public CategoricalReference ToPersisted()
    {
        var persisted = new CategoricalReference();
        persisted.Categories.AddRange(Categories);
        persisted.Counts.AddRange(Counts.Select(c => (ulong)c));
        return persisted;
    }

    public int BinOf(string category) => _index.TryGetValue(category, out var i) ? i : Categories.Length;
}

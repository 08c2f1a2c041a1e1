using MlMonitoring.Internal.V1;

namespace MlMonitoring.Sidecar.Drift;

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

using System.Collections.Concurrent;

namespace MlMonitoring.Sidecar.Core;

/// <summary>
/// The series of one label, created on first sight up to a cardinality limit. Past it, a value is folded into the
/// overflow entry (<c>__other__</c>) or, without one, refused; either way the overflow is counted. Lookups of known
/// values take no lock; only growth does.
/// </summary>
internal sealed class BoundedSeriesMap<TKey, TValue>
    where TKey : notnull
    where TValue : class
{
    private readonly ConcurrentDictionary<TKey, TValue> _items;
    private readonly SeriesLimiter _limiter;
    private readonly SeriesLimit _limit;
    private readonly int _max;
    private readonly Func<TKey, TValue> _create;
    private readonly Func<TKey, TKey>? _overflowKey;
    private readonly Lock _growth = new();

    /// <param name="limiter">Counts overflows.</param>
    /// <param name="limit">Which limit this map enforces, for the overflow self-metric.</param>
    /// <param name="max">Most entries, overflow entry excluded.</param>
    /// <param name="create">Builds the entry of a new key (under the growth lock).</param>
    /// <param name="overflowKey">Maps a refused key to the key of its overflow entry; null refuses it (returns null).</param>
    /// <param name="comparer">Key equality.</param>
    public BoundedSeriesMap(
        SeriesLimiter limiter, SeriesLimit limit, int max, Func<TKey, TValue> create, Func<TKey, TKey>? overflowKey, IEqualityComparer<TKey>? comparer = null)
    {
        _items = new ConcurrentDictionary<TKey, TValue>(comparer);
        _limiter = limiter;
        _limit = limit;
        _max = max;
        _create = create;
        _overflowKey = overflowKey;
    }

    public ICollection<TValue> Values => _items.Values;

    /// <summary>A value already seen, without creating it or counting an overflow.</summary>
    public TValue? Find(TKey key) => _items.GetValueOrDefault(key);

    /// <summary>The entry of <paramref name="key"/>; past the limit, its overflow entry, or null without one.</summary>
    public TValue? Get(TKey key)
    {
        if (_items.TryGetValue(key, out var value))
        {
            return value;
        }

        lock (_growth)
        {
            if (_items.TryGetValue(key, out value))
            {
                return value;
            }

            if (_items.Count >= _max)
            {
                _limiter.CountOverflow(_limit);
                return _overflowKey is null ? null : _items.GetOrAdd(_overflowKey(key), _create);
            }

            return _items[key] = _create(key);
        }
    }
}

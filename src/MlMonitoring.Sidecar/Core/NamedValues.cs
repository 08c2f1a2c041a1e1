namespace MlMonitoring.Sidecar.Core;

/// <summary>
/// The entries of a protobuf map field as read from the wire, reused from one event to the next. A key sent twice
/// keeps its first position and its last value, as protobuf parsers do, so the count is of distinct keys.
/// </summary>
internal sealed class NamedValues<T>
{
    /// <summary>Up to this many entries a linear scan finds a repeated key faster than hashing it.</summary>
    private const int LinearSearchLimit = 16;

    /// <summary>Room kept across events; an unusually wide event's arrays are let go rather than held by the pool.</summary>
    private const int RetainedCapacity = 64;

    private KeyValuePair<string, T>[] _entries = [];
    private Dictionary<string, int>? _index;

    public int Count { get; private set; }

    public ReadOnlySpan<KeyValuePair<string, T>> Entries => _entries.AsSpan(0, Count);

    public void Clear()
    {
        if (_entries.Length > RetainedCapacity)
        {
            _entries = [];
            _index = null;
        }
        else if (Count > LinearSearchLimit)
        {
            _index!.Clear();
        }

        Count = 0;
    }

    public void Set(string key, T value)
    {
        var existing = IndexOf(key);
        if (existing >= 0)
        {
            _entries[existing] = new(key, value);
            return;
        }

        if (Count == _entries.Length)
        {
            Array.Resize(ref _entries, Math.Max(8, Count * 2));
        }

        _entries[Count] = new(key, value);
        Count++;
        if (Count > LinearSearchLimit)
        {
            IndexFrom(Count == LinearSearchLimit + 1 ? 0 : Count - 1);
        }
    }

    private int IndexOf(string key)
    {
        if (Count > LinearSearchLimit)
        {
            return _index!.TryGetValue(key, out var found) ? found : -1;
        }

        var entries = _entries.AsSpan(0, Count);
        for (var i = 0; i < entries.Length; i++)
        {
            // Names come from a cache of decoded strings, so the same name is usually the same instance.
            if (ReferenceEquals(entries[i].Key, key) || string.Equals(entries[i].Key, key, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    private void IndexFrom(int start)
    {
        _index ??= new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = start; i < Count; i++)
        {
            _index[_entries[i].Key] = i;
        }
    }
}

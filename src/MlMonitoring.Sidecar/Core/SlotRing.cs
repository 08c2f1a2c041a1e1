namespace MlMonitoring.Sidecar.Core;

/// <summary>
/// A rolling time window cut into slots that are reused as the window moves, so memory does not grow with
/// traffic or time. Not thread-safe: the owner locks.
/// </summary>
/// <typeparam name="TSlot">What one slot accumulates; reset when reused.</typeparam>
internal sealed class SlotRing<TSlot>
    where TSlot : class, SlotRing<TSlot>.ISlot, new()
{
    private readonly TSlot[] _slots;
    private readonly long[] _epochs;
    private readonly long _slotMs;

    public SlotRing(TimeSpan window, int slotCount)
    {
        _slots = new TSlot[slotCount];
        _epochs = new long[slotCount];
        _slotMs = Math.Max(1, (long)window.TotalMilliseconds / slotCount);
        for (var i = 0; i < slotCount; i++)
        {
            _slots[i] = new TSlot();
            _epochs[i] = long.MinValue;
        }
    }

    /// <summary>The length of one slot; a slot's epoch is a time divided by it.</summary>
    public long SlotMs => _slotMs;

    /// <summary>What a slot accumulates.</summary>
    public interface ISlot
    {
        void Reset();
    }

    /// <summary>
    /// The slot of <paramref name="timeMs"/>, or null when that time lies outside the window ending at
    /// <paramref name="nowMs"/> (too old, or further in the future than one slot).
    /// </summary>
    public TSlot? SlotFor(long timeMs, long nowMs)
    {
        var epoch = Math.DivRem(timeMs, _slotMs, out _);
        var current = nowMs / _slotMs;
        if (epoch <= current - _slots.Length || epoch > current + 1)
        {
            return null;
        }

        var index = (int)(((epoch % _slots.Length) + _slots.Length) % _slots.Length);
        if (_epochs[index] != epoch)
        {
            if (_epochs[index] > epoch)
            {
                return null; // the slot already holds newer data
            }

            _slots[index].Reset();
            _epochs[index] = epoch;
        }

        return _slots[index];
    }

    /// <summary>The slot of <paramref name="epoch"/> (a time divided by <see cref="SlotMs"/>), as <see cref="SlotFor"/>.</summary>
    public TSlot? SlotOfEpoch(long epoch, long nowMs) => SlotFor(epoch * _slotMs, nowMs);

    /// <summary>The slots inside the window ending at <paramref name="nowMs"/>.</summary>
    public IEnumerable<TSlot> Live(long nowMs) => LiveWithEpochs(nowMs).Select(live => live.Slot);

    /// <summary>The slots inside the window ending at <paramref name="nowMs"/>, each with its epoch.</summary>
    public IEnumerable<(long Epoch, TSlot Slot)> LiveWithEpochs(long nowMs)
    {
        var current = nowMs / _slotMs;
        for (var i = 0; i < _slots.Length; i++)
        {
            if (_epochs[i] > current - _slots.Length && _epochs[i] <= current + 1)
            {
                yield return (_epochs[i], _slots[i]);
            }
        }
    }
}

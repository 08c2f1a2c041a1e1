using System.IO.Hashing;
using System.Runtime.InteropServices;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.SharedState;

/// <summary>
/// The default shared-state store: pending predictions in the sidecar's memory, about 120 bytes each.
/// </summary>
/// <remarks>
/// The key is a 128-bit xxHash of the prediction id rather than the id itself: an id string costs more than the
/// rest of the entry, and a collision among 10^9 ids has a probability near 10^-21. Entries point at the cached
/// series objects instead of holding names. Entries live in arrival order in fixed-size chunks, and an index maps
/// each key to its position: the TTL (expired from the oldest end) and MaxPending (the oldest pending evicted)
/// walk the chunks in order, touching memory the way it was written, and the store grows and shrinks a chunk at a
/// time instead of reallocating. Labelled and expired entries stay as tombstones for a second TTL so that a second
/// label is told apart from one for an id never seen.
/// </remarks>
internal sealed class MemorySharedStateStore(PendingPredictionLimits limits) : ISharedStateStore
{
    private readonly Dictionary<(string ModelName, string ModelVersion), StoredBaseline> _baselines = [];
    private const int ChunkShift = 14;
    private const int ChunkSize = 1 << ChunkShift; // 16,384 entries, about 1 MB
    private const long ChunkMask = ChunkSize - 1;

    // Sixteen index tables by the key's top bits: growing one reallocates a sixteenth of the index, not all of it at
    // once, which at a million entries would be a transient of tens of megabytes past any heap limit.
    private readonly Dictionary<UInt128, long>[] _index = [.. Enumerable.Range(0, 16).Select(_ => new Dictionary<UInt128, long>())];
    private readonly List<Slot[]> _chunks = [];
    private readonly Lock _gate = new();
    private readonly List<(DateTimeOffset At, byte[] Windows)> _handedOver = [];
    private readonly long _ttlMs = (long)limits.Ttl.TotalMilliseconds;
    private readonly int _maxPending = limits.MaxPending;
    private long _firstChunk; // number of _chunks[0]
    private Slot[]? _spareChunk;
    private long _head; // oldest entry still stored
    private long _expireCursor; // oldest entry that may still be pending
    private long _tail; // next free position
    private long _pending;
    private long _evictedSinceSweep;

    public void Remember(string predictionId, in PendingPrediction prediction)
    {
        var key = Hash(predictionId);
        lock (_gate)
        {
            // A repeated id keeps its first prediction: the label belongs to the prediction that was answered.
            if (!IndexOf(key).TryAdd(key, _tail))
            {
                return;
            }

            if ((_tail & ChunkMask) == 0)
            {
                _chunks.Add(_spareChunk ?? new Slot[ChunkSize]);
                _spareChunk = null;
            }

            SlotAt(_tail++) = new Slot(key, new Entry(prediction));
            _pending++;
            if (_pending > _maxPending)
            {
                EvictOldestPending();
            }

            // Tombstones are bounded too: never more than MaxPending of them.
            while (_tail - _head > 2L * _maxPending && _head < _expireCursor)
            {
                ForgetOldest();
            }
        }
    }

    public ValueTask<Claim> ClaimAsync(string predictionId, bool labelIsClass, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var key = Hash(predictionId);
        lock (_gate)
        {
            if (!IndexOf(key).TryGetValue(key, out var position))
            {
                return ValueTask.FromResult(new Claim(ClaimOutcome.Unknown, default));
            }

            ref var entry = ref SlotAt(position).Entry;
            var prediction = entry.ToPrediction();
            if (entry.State == PredictionState.Pending && entry.TimeMs < now.ToUnixTimeMilliseconds() - _ttlMs)
            {
                // Not swept yet, but already past its TTL.
                entry.State = PredictionState.Expired;
                _pending--;
            }

            var outcome = entry.State switch
            {
                PredictionState.Labeled => ClaimOutcome.Duplicate,
                PredictionState.Expired => ClaimOutcome.Expired,
                _ when prediction.IsClassification != labelIsClass => ClaimOutcome.Mismatch,
                _ => ClaimOutcome.Claimed,
            };
            if (outcome == ClaimOutcome.Claimed)
            {
                entry.State = PredictionState.Labeled;
                _pending--;
            }

            return ValueTask.FromResult(new Claim(outcome, prediction));
        }
    }

    public ValueTask<PendingPrediction?> FindAsync(string predictionId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var key = Hash(predictionId);
            return ValueTask.FromResult(IndexOf(key).TryGetValue(key, out var position) ? SlotAt(position).Entry.ToPrediction() : (PendingPrediction?)null);
        }
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    // One process, so the baselines are only this process's, kept by the same rule as a shared store's.
    public ValueTask<bool> PublishBaselineAsync(StoredBaseline baseline, CancellationToken cancellationToken)
    {
        lock (_baselines)
        {
            var key = (baseline.ModelName, baseline.ModelVersion);
            if (!baseline.Supersedes(_baselines.GetValueOrDefault(key)))
            {
                return ValueTask.FromResult(false);
            }

            _baselines[key] = baseline;
            return ValueTask.FromResult(true);
        }
    }

    public ValueTask<IReadOnlyList<StoredBaseline>> LoadBaselinesAsync(CancellationToken cancellationToken)
    {
        lock (_baselines)
        {
            return ValueTask.FromResult<IReadOnlyList<StoredBaseline>>([.. _baselines.Values]);
        }
    }

    // One process: what it hands over is only found by this instance (the in-process tests share one).
    public ValueTask HandOverWindowsAsync(byte[] windows, DateTimeOffset handedOverAt, CancellationToken cancellationToken)
    {
        lock (_handedOver)
        {
            _handedOver.Add((handedOverAt, windows));
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<byte[]?> TakeHandedOverWindowsAsync(DateTimeOffset handedOverBefore, DateTimeOffset discardBefore, CancellationToken cancellationToken)
    {
        lock (_handedOver)
        {
            _handedOver.RemoveAll(h => h.At < discardBefore);
            _handedOver.Sort((a, b) => a.At.CompareTo(b.At));
            if (_handedOver.Count == 0 || _handedOver[0].At >= handedOverBefore)
            {
                return ValueTask.FromResult<byte[]?>(null);
            }

            var oldest = _handedOver[0].Windows;
            _handedOver.RemoveAt(0);
            return ValueTask.FromResult<byte[]?>(oldest);
        }
    }

    public ValueTask<SweepResult> SweepAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var expireBefore = now.ToUnixTimeMilliseconds() - _ttlMs;
        var forgetBefore = expireBefore - _ttlMs;
        long expired = 0;
        bool more;
        do
        {
            // In slices, so that a mass expiry does not hold the lock against ingest for long.
            lock (_gate)
            {
                var budget = 10_000;
                while (budget-- > 0 && _expireCursor < _tail)
                {
                    ref var entry = ref SlotAt(_expireCursor).Entry;
                    if (entry.TimeMs >= expireBefore)
                    {
                        break;
                    }

                    if (entry.State == PredictionState.Pending)
                    {
                        entry.State = PredictionState.Expired;
                        _pending--;
                        expired++;
                    }

                    _expireCursor++;
                }

                while (budget-- > 0 && _head < _expireCursor && SlotAt(_head).Entry.TimeMs < forgetBefore)
                {
                    ForgetOldest();
                }

                more = budget <= 0;
            }
        }
        while (more);

        lock (_gate)
        {
            var evicted = _evictedSinceSweep;
            _evictedSinceSweep = 0;
            return ValueTask.FromResult(new SweepResult(expired, evicted, _pending));
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static UInt128 Hash(string predictionId) => XxHash128.HashToUInt128(MemoryMarshal.AsBytes(predictionId.AsSpan()));

    private void EvictOldestPending()
    {
        while (_pending > _maxPending && _expireCursor < _tail)
        {
            ref var entry = ref SlotAt(_expireCursor++).Entry;
            if (entry.State == PredictionState.Pending)
            {
                entry.State = PredictionState.Expired;
                _pending--;
                _evictedSinceSweep++;
            }
        }
    }

    private Dictionary<UInt128, long> IndexOf(UInt128 key) => _index[(int)(key >> 124)];

    private ref Slot SlotAt(long position) => ref _chunks[(int)((position >> ChunkShift) - _firstChunk)][position & ChunkMask];

    /// <summary>Drops the oldest stored entry (a tombstone) from the index, and its chunk once the chunk is all gone.</summary>
    private void ForgetOldest()
    {
        ref var slot = ref SlotAt(_head);
        IndexOf(slot.Key).Remove(slot.Key);
        slot = default;
        if ((++_head & ChunkMask) == 0)
        {
            // One empty chunk is kept for the next to be needed: a store at its bound frees and takes one in turn.
            _spareChunk = _chunks[0];
            _chunks.RemoveAt(0);
            _firstChunk++;
        }
    }

    private struct Slot(UInt128 key, Entry entry)
    {
        public readonly UInt128 Key = key;
        public Entry Entry = entry;
    }

    private struct Entry(PendingPrediction prediction)
    {
        public readonly ModelVersionState Model = prediction.Model;
        public readonly ClassSeries? Class = prediction.PredictedClass;
        public readonly double Value = prediction.PredictedValue;
        public readonly long TimeMs = prediction.TimeMs;
        public readonly float Confidence = prediction.Confidence;
        public PredictionState State = PredictionState.Pending;

        public readonly PendingPrediction ToPrediction() => new(Model, Class, Value, Confidence, TimeMs);
    }
}

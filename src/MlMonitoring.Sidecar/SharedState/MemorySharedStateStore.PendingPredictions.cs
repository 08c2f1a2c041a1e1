using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace MlMonitoring.Sidecar.SharedState;

/// <summary>Predictions waiting for their labels (<see cref="IPendingPredictionStore"/>).</summary>
internal sealed partial class MemorySharedStateStore
{
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
}

using System.IO.Hashing;
using System.Runtime.InteropServices;
using MlMonitoring.Sidecar.Hosting;
using MlMonitoring.Sidecar.Metrics;

namespace MlMonitoring.Sidecar.GroundTruth;

/// <summary>
/// The default join store: pending predictions in the sidecar's memory, about 110 bytes each.
/// </summary>
/// <remarks>
/// The key is a 128-bit xxHash of the prediction id rather than the id itself: an id string costs more than the
/// rest of the entry, and a collision among 10^9 ids has a probability near 10^-21. Entries point at the cached
/// series objects instead of holding names. A ring of keys in arrival order serves both the TTL (expired from
/// the oldest end) and MaxPending (the oldest pending evicted). Labelled and expired entries stay as tombstones
/// for a second TTL so that a second label is told apart from one for an id never seen.
/// </remarks>
internal sealed class MemoryJoinStore(GroundTruthOptions options) : IJoinStore
{
    // Sixteen tables by the key's top bits: growing one reallocates a sixteenth of the store, not all of it at once,
    // which at a million entries would be a transient of tens of megabytes past any heap limit.
    private readonly Dictionary<UInt128, Entry>[] _shards = [.. Enumerable.Range(0, 16).Select(_ => new Dictionary<UInt128, Entry>())];
    private readonly Lock _gate = new();
    private readonly long _ttlMs = (long)options.Ttl.TotalMilliseconds;
    private readonly int _maxPending = options.MaxPending;
    private UInt128[] _ring = new UInt128[1024];
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
            if (!ShardOf(key).TryAdd(key, new Entry(prediction)))
            {
                return;
            }

            if (_tail - _head == _ring.Length)
            {
                Grow();
            }

            _ring[_tail++ % _ring.Length] = key;
            _pending++;
            if (_pending > _maxPending)
            {
                EvictOldestPending();
            }

            // Tombstones are bounded too: never more than MaxPending of them.
            while (_tail - _head > 2L * _maxPending && _head < _expireCursor)
            {
                Forget(_ring[_head++ % _ring.Length]);
            }
        }
    }

    public ValueTask<Claim> ClaimAsync(string predictionId, bool labelIsClass, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var key = Hash(predictionId);
        lock (_gate)
        {
            ref var entry = ref CollectionsMarshal.GetValueRefOrNullRef(ShardOf(key), key);
            if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref entry))
            {
                return ValueTask.FromResult(new Claim(ClaimOutcome.Unknown, default));
            }

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
            return ValueTask.FromResult(ShardOf(key).TryGetValue(key, out var entry) ? entry.ToPrediction() : (PendingPrediction?)null);
        }
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    // Memory keeps nothing across a restart, so a baseline has nowhere to go that would outlive the process.
    public ValueTask SaveBaselineAsync(string modelName, string modelVersion, byte[] baseline, CancellationToken cancellationToken) =>
        ValueTask.CompletedTask;

    public ValueTask<IReadOnlyList<(string ModelName, string ModelVersion, byte[] Baseline)>> LoadBaselinesAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<(string, string, byte[])>>([]);

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
                    ref var entry = ref EntryAt(_expireCursor);
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

                while (budget-- > 0 && _head < _expireCursor && EntryAt(_head).TimeMs < forgetBefore)
                {
                    Forget(_ring[_head++ % _ring.Length]);
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

    /// <summary>Approximate bytes held per stored entry, for the memory budget (dictionary entry, bucket, ring slot).</summary>
    internal static int BytesPerEntry => System.Runtime.CompilerServices.Unsafe.SizeOf<Entry>() + 16 + 8 + 4 + 16;

    private static UInt128 Hash(string predictionId) => XxHash128.HashToUInt128(MemoryMarshal.AsBytes(predictionId.AsSpan()));

    private void EvictOldestPending()
    {
        while (_pending > _maxPending && _expireCursor < _tail)
        {
            ref var entry = ref EntryAt(_expireCursor++);
            if (entry.State == PredictionState.Pending)
            {
                entry.State = PredictionState.Expired;
                _pending--;
                _evictedSinceSweep++;
            }
        }
    }

    private Dictionary<UInt128, Entry> ShardOf(UInt128 key) => _shards[(int)(key >> 124)];

    /// <summary>The entry of the key at ring position <paramref name="position"/>; every ring key is stored.</summary>
    private ref Entry EntryAt(long position)
    {
        var key = _ring[position % _ring.Length];
        return ref CollectionsMarshal.GetValueRefOrNullRef(ShardOf(key), key);
    }

    private void Forget(UInt128 key) => ShardOf(key).Remove(key);

    private void Grow()
    {
        var bigger = new UInt128[_ring.Length * 2];
        for (var i = _head; i < _tail; i++)
        {
            bigger[i % bigger.Length] = _ring[i % _ring.Length];
        }

        _ring = bigger;
    }

    private struct Entry(PendingPrediction prediction)
    {
        public readonly ModelSeries Model = prediction.Model;
        public readonly ClassSeries? Class = prediction.PredictedClass;
        public readonly double Value = prediction.PredictedValue;
        public readonly long TimeMs = prediction.TimeMs;
        public readonly float Confidence = prediction.Confidence;
        public PredictionState State = PredictionState.Pending;

        public readonly PendingPrediction ToPrediction() => new(Model, Class, Value, Confidence, TimeMs);
    }
}

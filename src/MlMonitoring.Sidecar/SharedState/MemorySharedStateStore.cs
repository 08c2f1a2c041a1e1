using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.SharedState;

/// <summary>
/// The default shared-state store: pending predictions in the sidecar's memory, packed in fixed-size slots
/// (its size per prediction: docs/ground-truth-and-drift.md).
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
internal sealed partial class MemorySharedStateStore(PendingPredictionLimits limits) : ISharedStateStore
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

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

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

using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Ingest.Wire;

/// <summary>
/// The events of one request — a <c>PredictionBatch</c>, or the single <c>PredictionEvent</c> of a unary call —
/// in reusable <see cref="IncomingPrediction"/> objects. Rented from <see cref="IncomingBatchPool"/> by the
/// deserializer and returned by the handler once the request is answered.
/// </summary>
internal sealed class IncomingBatch
{
    private IncomingPrediction[] _events = [];

    /// <summary>How many events the request carried, including any beyond <see cref="Events"/>.</summary>
    public int TotalCount { get; private set; }

    /// <summary>The events read, at most the reader's limit; when <see cref="TotalCount"/> is larger the batch is refused whole.</summary>
    public ReadOnlyMemory<IncomingPrediction> Events => _events.AsMemory(0, Math.Min(TotalCount, _events.Length));

    /// <summary>How many event objects this batch holds for reuse.</summary>
    public int Capacity => _events.Length;

    public void Clear() => TotalCount = 0;

    /// <summary>The next event to fill, emptied; null once <paramref name="limit"/> events are held (it is only counted).</summary>
    public IncomingPrediction? Next(int limit)
    {
        var index = TotalCount++;
        if (index >= limit)
        {
            return null;
        }

        if (index == _events.Length)
        {
            var grown = new IncomingPrediction[Math.Min(Math.Max(8, _events.Length * 2), Math.Max(limit, 1))];
            _events.CopyTo(grown, 0);
            for (var i = _events.Length; i < grown.Length; i++)
            {
                grown[i] = new IncomingPrediction();
            }

            _events = grown;
        }

        var e = _events[index];
        e.Reset();
        return e;
    }
}

/// <summary>
/// Batches waiting to be reused. Lock-free and bounded: a batch returned to a full pool, or never returned
/// (a call that failed), is left to the garbage collector.
/// </summary>
internal static class IncomingBatchPool
{
    /// <summary>Batches larger than this are not kept: the pool should hold what steady traffic needs, not the largest request ever seen.</summary>
    public const int MaxRetainedEvents = 2048;

    private static readonly IncomingBatch?[] Slots = new IncomingBatch?[Math.Max(8, Environment.ProcessorCount * 4)];

    public static IncomingBatch Rent()
    {
        for (var i = 0; i < Slots.Length; i++)
        {
            if (Volatile.Read(ref Slots[i]) is not null && Interlocked.Exchange(ref Slots[i], null) is { } batch)
            {
                batch.Clear();
                return batch;
            }
        }

        return new IncomingBatch();
    }

    public static void Return(IncomingBatch batch)
    {
        if (batch.Capacity > MaxRetainedEvents)
        {
            return;
        }

        for (var i = 0; i < Slots.Length; i++)
        {
            if (Volatile.Read(ref Slots[i]) is null && Interlocked.CompareExchange(ref Slots[i], batch, null) is null)
            {
                return;
            }
        }
    }
}

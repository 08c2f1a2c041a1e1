using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Ingest;

namespace MlMonitoring.Sidecar.Ingest.Wire;

/// <summary>
/// The events of one request — a <c>PredictionBatch</c>, or the single <c>PredictionEvent</c> of a unary call —
/// in reusable <see cref="IncomingPrediction"/> objects. A lease: rented from <see cref="IncomingBatchPool"/> by the
/// deserializer and owned by the call from then on. Whoever ends the call disposes it, which returns it to the
/// pool: the handler once the request is answered, the marshaller when the request is malformed,
/// <see cref="OverloadGuard"/> when it refuses the call before the handler runs. Disposing twice is harmless.
/// Nothing of it may be kept after that: later stages copy what they keep (see <see cref="IncomingPrediction"/>).
/// </summary>
internal sealed class IncomingBatch : IDisposable
{
    private IncomingPrediction[] _events = [];
    private int _leased;

    /// <summary>How many events the request carried, including any beyond <see cref="Events"/>.</summary>
    public int TotalCount { get; private set; }

    /// <summary>The events read, at most the reader's limit; when <see cref="TotalCount"/> is larger the batch is refused whole.</summary>
    public ReadOnlyMemory<IncomingPrediction> Events => _events.AsMemory(0, Math.Min(TotalCount, _events.Length));

    /// <summary>How many event objects this batch holds for reuse.</summary>
    public int Capacity => _events.Length;

    /// <summary>Whether the batch is rented and not yet returned.</summary>
    public bool IsLeased => Volatile.Read(ref _leased) == 1;

    /// <summary>Empties the batch and marks it rented.</summary>
    public void Lease()
    {
        TotalCount = 0;
        Volatile.Write(ref _leased, 1);
    }

    /// <summary>Ends the lease: the batch goes back to the pool, once.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _leased, 0) == 1)
        {
            IncomingBatchPool.Return(this);
        }
    }

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
                batch.Lease();
                return batch;
            }
        }

        var fresh = new IncomingBatch();
        fresh.Lease();
        return fresh;
    }

    /// <summary>Called by <see cref="IncomingBatch.Dispose"/> only, so that a batch is returned once.</summary>
    internal static void Return(IncomingBatch batch)
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

namespace MlMonitoring.Client;

/// <summary>
/// The bounded queue between the model's threads and the sender: a ring of records that drops its oldest when
/// full. Writers take a short lock per record; the sender takes it once per batch and copies the batch out in
/// bulk. A general-purpose channel locks once per item on both sides, and with the model writing while the sender
/// reads, that lock is contended on nearly every event.
/// </summary>
internal sealed class RecordBuffer(int capacity)
{
    private readonly PredictionRecord[] _ring = new PredictionRecord[capacity];
    private readonly Lock _gate = new();
    private long _head; // oldest record
    private long _tail; // next free slot
    private bool _completed;
    private TaskCompletionSource? _reader;

    /// <summary>Records waiting to be taken.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return (int)(_tail - _head);
            }
        }
    }

    /// <summary>Adds a record; false when the buffer is completed. <paramref name="droppedOldest"/> says whether the oldest record made room.</summary>
    public bool TryAdd(in PredictionRecord record, out bool droppedOldest)
    {
        TaskCompletionSource? reader;
        lock (_gate)
        {
            droppedOldest = false;
            if (_completed)
            {
                return false;
            }

            if (_tail - _head == _ring.Length)
            {
                _ring[_head++ % _ring.Length] = default;
                droppedOldest = true;
            }

            _ring[_tail++ % _ring.Length] = record;
            reader = _reader;
            _reader = null;
        }

        // Outside the lock: the sender's continuation runs elsewhere (RunContinuationsAsynchronously).
        reader?.TrySetResult();
        return true;
    }

    /// <summary>Moves up to <paramref name="max"/> of the oldest records into <paramref name="into"/>.</summary>
    public void TakeInto(List<PredictionRecord> into, int max)
    {
        lock (_gate)
        {
            var take = (int)Math.Min(max, _tail - _head);
            for (var i = 0; i < take; i++)
            {
                ref var slot = ref _ring[_head++ % _ring.Length];
                into.Add(slot);
                // Released at once, so the strings and maps of sent events are not kept alive by the ring.
                slot = default;
            }
        }
    }

    /// <summary>Completes when a record is waiting, or at once if the buffer is completed; false then.</summary>
    public Task<bool> WaitToReadAsync(CancellationToken cancellationToken)
    {
        Task wait;
        lock (_gate)
        {
            if (_tail > _head)
            {
                return Task.FromResult(true);
            }

            if (_completed)
            {
                return Task.FromResult(false);
            }

            _reader ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            wait = _reader.Task;
        }

        return WaitAsync(wait, cancellationToken);
    }

    /// <summary>No more records are added; the sender is woken to finish.</summary>
    public void Complete()
    {
        TaskCompletionSource? reader;
        lock (_gate)
        {
            _completed = true;
            reader = _reader;
            _reader = null;
        }

        reader?.TrySetResult();
    }

    private async Task<bool> WaitAsync(Task wait, CancellationToken cancellationToken)
    {
        await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            return _tail > _head || !_completed;
        }
    }
}

namespace MlMonitoring.Client;

/// <summary>
/// The bounded queue between the model's threads and the sender: a ring of records that drops its oldest when
/// full. Writers take a short lock per record; the sender takes it once per batch and copies the batch out in
/// bulk. A general-purpose channel locks once per item on both sides, and with the model writing while the sender
/// reads, that lock is contended on nearly every event.
/// </summary>
/// <remarks>
/// The sender waits for a whole batch (<see cref="WaitAsync"/>), not for the first record: woken at every record,
/// it would send many small batches while the model records quickly, and each batch costs the model's process a
/// write, an acknowledgement and thread wake-ups however few events it carries.
/// </remarks>
internal sealed class RecordBuffer(int capacity)
{
    private readonly PredictionRecord[] _ring = new PredictionRecord[capacity];
    private readonly Lock _gate = new();
    private int _head; // index of the oldest record
    private int _count;
    private bool _completed;
    private bool _woken;
    private int _wakeAt = int.MaxValue;
    private TaskCompletionSource? _reader;

    /// <summary>Records waiting to be taken.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _count;
            }
        }
    }

    /// <summary>Adds a record; false when the buffer is completed. <paramref name="droppedOldest"/> says whether the oldest record made room.</summary>
    public bool TryAdd(in PredictionRecord record, out bool droppedOldest)
    {
        TaskCompletionSource? reader = null;
        lock (_gate)
        {
            droppedOldest = false;
            if (_completed)
            {
                return false;
            }

            if (_count == _ring.Length)
            {
                _ring[_head] = default;
                _head = Next(_head);
                _count--;
                droppedOldest = true;
            }

            var tail = _head + _count;
            _ring[tail >= _ring.Length ? tail - _ring.Length : tail] = record;
            if (++_count >= _wakeAt)
            {
                reader = TakeReader();
            }
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
            var take = Math.Min(max, _count);
            for (var i = 0; i < take; i++)
            {
                ref var slot = ref _ring[_head];
                into.Add(slot);
                // Released at once, so the strings and maps of sent events are not kept alive by the ring.
                slot = default;
                _head = Next(_head);
            }

            _count -= take;
        }
    }

    /// <summary>
    /// Completes when at least <paramref name="records"/> are waiting, when <see cref="Wake"/> is called, after
    /// <paramref name="timeout"/>, or at once if the buffer is completed; false then, and only then.
    /// </summary>
    public Task<bool> WaitAsync(int records, TimeSpan timeout, CancellationToken cancellationToken)
    {
        Task wait;
        lock (_gate)
        {
            if (_count >= records || _woken)
            {
                _woken = false;
                return Task.FromResult(true);
            }

            if (_completed)
            {
                return Task.FromResult(false);
            }

            _wakeAt = Math.Max(1, records);
            _reader ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            wait = _reader.Task;
        }

        return WaitForReaderAsync(wait, timeout, cancellationToken);
    }

    /// <summary>Wakes the reader now, however few records wait (a flush); if it is not waiting, its next wait returns at once.</summary>
    public void Wake()
    {
        TaskCompletionSource? reader;
        lock (_gate)
        {
            reader = TakeReader();
            _woken = reader is null;
        }

        reader?.TrySetResult();
    }

    /// <summary>No more records are added; the sender is woken to finish.</summary>
    public void Complete()
    {
        TaskCompletionSource? reader;
        lock (_gate)
        {
            _completed = true;
            reader = TakeReader();
        }

        reader?.TrySetResult();
    }

    private TaskCompletionSource? TakeReader()
    {
        var reader = _reader;
        _reader = null;
        _wakeAt = int.MaxValue;
        return reader;
    }

    private int Next(int index) => index + 1 == _ring.Length ? 0 : index + 1;

    private async Task<bool> WaitForReaderAsync(Task wait, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await wait.WaitAsync(timeout, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (ReferenceEquals(_reader?.Task, wait))
            {
                // Timed out: nobody is waiting any more.
                TakeReader();
            }

            return _count > 0 || !_completed;
        }
    }
}

using System.Threading.Channels;

namespace MlMonitoring.Sidecar.SharedState;

/// <summary>
/// Decouples the per-event path from an external store: <see cref="TryEnqueue"/> never waits, a background loop
/// writes in batches, and <see cref="FlushAsync"/> waits until everything enqueued before it is written.
/// </summary>
internal sealed class WriteQueue<T> : IAsyncDisposable
{
    private const int MaxBatch = 1_000;

    private readonly Channel<T> _channel;
    private readonly Func<IReadOnlyList<T>, CancellationToken, Task> _writeBatch;
    private readonly Action<Exception> _onError;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;
    private long _enqueued;
    private long _written;
    private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public WriteQueue(int capacity, Func<IReadOnlyList<T>, CancellationToken, Task> writeBatch, Action<Exception> onError)
    {
        _channel = Channel.CreateBounded<T>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait, // with TryWrite: refuse instead of waiting
            SingleReader = true,
        });
        _writeBatch = writeBatch;
        _onError = onError;
        _loop = Task.Run(WriteLoopAsync);
    }

    /// <summary>Writes not yet done.</summary>
    public long Backlog => Interlocked.Read(ref _enqueued) - Interlocked.Read(ref _written);

    /// <summary>Queues a write; false when the queue is full (the caller counts the drop).</summary>
    public bool TryEnqueue(T item)
    {
        if (!_channel.Writer.TryWrite(item))
        {
            return false;
        }

        Interlocked.Increment(ref _enqueued);
        return true;
    }

    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        var target = Interlocked.Read(ref _enqueued);
        while (true)
        {
            // Take the signal before checking: the writer counts first, then completes the signal it replaces.
            var progress = Volatile.Read(ref _progress);
            if (Interlocked.Read(ref _written) >= target)
            {
                return;
            }

            await progress.Task.WaitAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Writer.TryComplete();
        try
        {
            // What is queued is written before the store closes, within a bound.
            await _loop.WaitAsync(TimeSpan.FromSeconds(3));
        }
        catch (TimeoutException)
        {
            await _stopping.CancelAsync();
        }

        _stopping.Dispose();
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<T>(MaxBatch);
        while (await _channel.Reader.WaitToReadAsync())
        {
            while (batch.Count < MaxBatch && _channel.Reader.TryRead(out var item))
            {
                batch.Add(item);
            }

            while (true)
            {
                try
                {
                    await _writeBatch(batch, _stopping.Token);
                    break;
                }
                catch (Exception e) when (!_stopping.IsCancellationRequested)
                {
                    // The store is unavailable: keep the batch and try again; ingest is unaffected.
                    _onError(e);
                    await Task.Delay(TimeSpan.FromMilliseconds(500));
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            Interlocked.Add(ref _written, batch.Count);
            batch.Clear();
            Interlocked.Exchange(ref _progress, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
    }
}

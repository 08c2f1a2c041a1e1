using MlMonitoring.Sidecar.SharedState;

namespace MlMonitoring.Sidecar.Tests.SharedState;

public sealed class WriteQueueTests
{
    [Fact]
    public async Task Items_are_written_in_order_in_batches_of_at_most_a_thousand()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var batches = new List<int[]>();
        await using var queue = new WriteQueue<int>(10_000, async (batch, _) =>
        {
            await gate.Task;
            batches.Add([.. batch]);
        }, e => throw e);

        for (var i = 0; i < 2_500; i++)
        {
            Assert.True(queue.TryEnqueue(i));
        }

        gate.SetResult();
        await queue.FlushAsync(CancellationToken.None);

        Assert.All(batches, b => Assert.InRange(b.Length, 1, 1_000));
        Assert.Equal(Enumerable.Range(0, 2_500), batches.SelectMany(b => b));
        Assert.Equal(0, queue.Backlog);
    }

    [Fact]
    public async Task A_full_queue_refuses_at_once_instead_of_waiting()
    {
        var writing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var queue = new WriteQueue<int>(2, async (_, _) =>
        {
            writing.TrySetResult();
            await gate.Task;
        }, e => throw e);

        Assert.True(queue.TryEnqueue(1));
        await writing.Task;  // item 1 is with the writer; the queue holds two more
        Assert.True(queue.TryEnqueue(2));
        Assert.True(queue.TryEnqueue(3));
        Assert.False(queue.TryEnqueue(4));
        Assert.Equal(3, queue.Backlog);

        gate.SetResult();
        await queue.FlushAsync(CancellationToken.None);
        Assert.Equal(0, queue.Backlog);
    }

    [Fact]
    public async Task Flush_waits_for_what_was_queued_before_it_and_not_for_what_comes_after()
    {
        var firstGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var laterGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var written = new List<int>();
        await using var queue = new WriteQueue<int>(100, async (batch, _) =>
        {
            await (batch[0] == 1 ? firstGate.Task : laterGate.Task);
            lock (written)
            {
                written.AddRange(batch);
            }
        }, e => throw e);

        queue.TryEnqueue(1);
        var flush = queue.FlushAsync(CancellationToken.None).AsTask();
        await Task.Delay(50);
        Assert.False(flush.IsCompleted);

        queue.TryEnqueue(2);
        firstGate.SetResult();
        await flush;
        lock (written)
        {
            Assert.Equal([1], written);
        }

        laterGate.SetResult();
        await queue.FlushAsync(CancellationToken.None);
        Assert.Equal([1, 2], written);
    }

    [Fact]
    public async Task A_failing_store_is_reported_and_the_batch_is_written_once_it_recovers()
    {
        var failures = 0;
        var errors = new List<Exception>();
        var written = new List<string>();
        await using var queue = new WriteQueue<string>(100, (batch, _) =>
        {
            if (Interlocked.Increment(ref failures) <= 2)
            {
                throw new IOException("store down");
            }

            written.AddRange(batch);
            return Task.CompletedTask;
        }, e =>
        {
            lock (errors)
            {
                errors.Add(e);
            }
        });

        queue.TryEnqueue("a");
        await queue.FlushAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);

        Assert.Equal(["a"], written);
        Assert.Equal(2, errors.Count);
        Assert.All(errors, e => Assert.Equal("store down", e.Message));
    }

    [Fact]
    public async Task Disposing_writes_what_is_queued_first()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var written = new List<int>();
        var queue = new WriteQueue<int>(100, async (batch, _) =>
        {
            await gate.Task;
            written.AddRange(batch);
        }, e => throw e);
        queue.TryEnqueue(1);
        queue.TryEnqueue(2);

        var disposing = queue.DisposeAsync().AsTask();
        gate.SetResult();
        await disposing;

        Assert.Equal([1, 2], written);
    }
}

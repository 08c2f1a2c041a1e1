using MlMonitoring.Client;

namespace MlMonitoring.Client.Tests;

public sealed class RecordBufferTests
{
    private static PredictionRecord Record(int i) =>
        new(RecordKind.Regression, "m", "v1", 0.01, null, i, double.NaN, null, null, null);

    [Fact]
    public void When_full_the_oldest_records_make_room_and_the_rest_come_out_in_order()
    {
        var buffer = new RecordBuffer(3);
        var dropped = 0;
        for (var i = 0; i < 5; i++)
        {
            Assert.True(buffer.TryAdd(Record(i), out var droppedOldest));
            dropped += droppedOldest ? 1 : 0;
        }

        var taken = new List<PredictionRecord>();
        buffer.TakeInto(taken, 2);
        buffer.TakeInto(taken, 10);

        Assert.Equal(2, dropped);
        Assert.Equal([2.0, 3.0, 4.0], taken.Select(r => r.Number));
        Assert.Equal(0, buffer.Count);
    }

    [Fact]
    public async Task A_waiting_reader_wakes_at_a_whole_batch_not_at_the_first_record()
    {
        var buffer = new RecordBuffer(8);
        var waiting = buffer.WaitAsync(3, Timeout.InfiniteTimeSpan, CancellationToken.None);

        buffer.TryAdd(Record(1), out _);
        buffer.TryAdd(Record(2), out _);
        await Task.Delay(50);
        Assert.False(waiting.IsCompleted);
        buffer.TryAdd(Record(3), out _);

        Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task A_waiting_reader_wakes_after_its_timeout_on_wake_and_on_completion()
    {
        var buffer = new RecordBuffer(8);
        buffer.TryAdd(Record(1), out _);
        Assert.True(await buffer.WaitAsync(100, TimeSpan.FromMilliseconds(20), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5)));

        var woken = buffer.WaitAsync(100, Timeout.InfiniteTimeSpan, CancellationToken.None);
        Assert.False(woken.IsCompleted);
        buffer.Wake();
        Assert.True(await woken.WaitAsync(TimeSpan.FromSeconds(5)));

        // A wake while nobody waits is kept for the next wait: a flush is never lost between two waits.
        buffer.Wake();
        Assert.True(buffer.WaitAsync(100, Timeout.InfiniteTimeSpan, CancellationToken.None).IsCompletedSuccessfully);

        buffer.TakeInto([], 10);
        var last = buffer.WaitAsync(1, Timeout.InfiniteTimeSpan, CancellationToken.None);
        buffer.Complete();
        Assert.False(await last.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.False(buffer.TryAdd(Record(2), out _));
    }

    [Fact]
    public async Task Records_from_many_writers_all_arrive_once_while_a_reader_drains()
    {
        var buffer = new RecordBuffer(1_000_000);
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            for (var i = 0; i < 50_000; i++)
            {
                Assert.True(buffer.TryAdd(Record((w * 50_000) + i), out var dropped));
                Assert.False(dropped);
            }
        })).ToArray();
        var taken = new List<PredictionRecord>();
        while (!writers.All(w => w.IsCompleted) || buffer.Count > 0)
        {
            buffer.TakeInto(taken, 500);
            await Task.Yield();
        }

        await Task.WhenAll(writers);
        Assert.Equal(Enumerable.Range(0, 200_000).Select(i => (double)i), taken.Select(r => r.Number).Order());
    }
}

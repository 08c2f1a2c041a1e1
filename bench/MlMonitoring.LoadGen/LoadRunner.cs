using System.Diagnostics;
using Grpc.Core;
using Grpc.Net.Client;
using MlMonitoring.V1;

namespace MlMonitoring.LoadGen;

/// <summary>The figures of one run.</summary>
internal sealed record LoadResult(long Events, long Accepted, long Rejected, long Calls, TimeSpan Elapsed, double[] AckLatenciesMs)
{
    public double EventsPerSecond => Events / Elapsed.TotalSeconds;

    public double CallsPerSecond => Calls / Elapsed.TotalSeconds;

    public double Percentile(double p)
    {
        if (AckLatenciesMs.Length == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(p * AckLatenciesMs.Length) - 1;
        return AckLatenciesMs[Math.Clamp(rank, 0, AckLatenciesMs.Length - 1)];
    }
}

/// <summary>
/// Sends a pool of pre-built events over one rpc kind. With a rate, calls are scheduled open-loop and each
/// acknowledgement latency is measured from the call's scheduled time, so a stalled server shows up in the
/// percentiles instead of silently slowing the generator down (coordinated omission).
/// </summary>
internal sealed class LoadRunner(LoadOptions options, PredictionEvent[] pool)
{
    private long _events;
    private long _accepted;
    private long _rejected;
    private long _calls;

    public async Task<LoadResult> RunAsync(CancellationToken cancellationToken)
    {
        using var channel = GrpcChannel.ForAddress(options.Target, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
        });
        var client = new PredictionMonitor.PredictionMonitorClient(channel);
        var batches = BuildBatches(options.Mode == "unary" ? 1 : options.BatchSize);
        var eventsPerCall = options.Mode == "unary" ? 1 : options.BatchSize;
        // The interval between calls of one worker that gives the requested total event rate.
        var callInterval = options.Rate > 0
            ? TimeSpan.FromSeconds(eventsPerCall * options.Concurrency / options.Rate)
            : TimeSpan.Zero;

        var stopwatch = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, options.Concurrency).Select(worker => options.Mode switch
        {
            "unary" => UnaryWorker(client, worker, callInterval, stopwatch, cancellationToken),
            "batch" => BatchWorker(client, batches, worker, callInterval, stopwatch, cancellationToken),
            _ => StreamWorker(client, batches, worker, callInterval, stopwatch, cancellationToken),
        }).ToArray();
        var latencies = await Task.WhenAll(workers);
        var elapsed = stopwatch.Elapsed;

        var all = latencies.SelectMany(l => l).ToArray();
        Array.Sort(all);
        return new LoadResult(_events, _accepted, _rejected, _calls, elapsed, all);
    }

    private PredictionBatch[] BuildBatches(int size)
    {
        var batches = new PredictionBatch[Math.Max(1, pool.Length / size)];
        for (var b = 0; b < batches.Length; b++)
        {
            batches[b] = new PredictionBatch();
            batches[b].Events.AddRange(pool.AsSpan(b * size, size).ToArray());
        }

        return batches;
    }

    private Task<List<double>> UnaryWorker(
        PredictionMonitor.PredictionMonitorClient client, int worker, TimeSpan interval, Stopwatch clock, CancellationToken ct) =>
        CallWorker(worker, interval, clock, async i => (1, await client.RecordPredictionAsync(pool[i % pool.Length], cancellationToken: ct)), ct);

    private Task<List<double>> BatchWorker(
        PredictionMonitor.PredictionMonitorClient client, PredictionBatch[] batches, int worker, TimeSpan interval, Stopwatch clock, CancellationToken ct) =>
        CallWorker(worker, interval, clock, async i =>
        {
            var batch = batches[i % batches.Length];
            return (batch.Events.Count, await client.RecordPredictionsAsync(batch, cancellationToken: ct));
        }, ct);

    /// <summary>Calls one after another, each at its scheduled time (open loop) or at once (flat out).</summary>
    private async Task<List<double>> CallWorker(
        int worker, TimeSpan interval, Stopwatch clock, Func<int, Task<(int Events, RecordResponse Response)>> call, CancellationToken ct)
    {
        var latencies = new List<double>();
        var i = worker;
        var next = clock.Elapsed + (interval * worker / options.Concurrency);
        while (clock.Elapsed < options.Duration && !ct.IsCancellationRequested)
        {
            var scheduled = await WaitForSlotAsync(clock, next, interval, ct);
            next = scheduled + interval;
            var (events, response) = await call(i);
            latencies.Add((clock.Elapsed - scheduled).TotalMilliseconds);
            Count(events, response);
            i += options.Concurrency;
        }

        return latencies;
    }

    /// <summary>One stream; a writer and a reader, up to 8 batches unacknowledged, responses matched in order.</summary>
    private async Task<List<double>> StreamWorker(
        PredictionMonitor.PredictionMonitorClient client, PredictionBatch[] batches, int worker, TimeSpan interval, Stopwatch clock, CancellationToken ct)
    {
        var latencies = new List<double>();
        using var call = client.StreamPredictions(cancellationToken: ct);
        using var window = new SemaphoreSlim(8);
        var sent = new System.Collections.Concurrent.ConcurrentQueue<(TimeSpan Scheduled, int Events)>();

        var reader = Task.Run(async () =>
        {
            await foreach (var response in call.ResponseStream.ReadAllAsync(ct))
            {
                sent.TryDequeue(out var batch);
                latencies.Add((clock.Elapsed - batch.Scheduled).TotalMilliseconds);
                Count(batch.Events, response);
                window.Release();
            }
        }, ct);

        var i = worker;
        var next = clock.Elapsed + (interval * worker / options.Concurrency);
        while (clock.Elapsed < options.Duration && !ct.IsCancellationRequested)
        {
            var scheduled = await WaitForSlotAsync(clock, next, interval, ct);
            next = scheduled + interval;
            await window.WaitAsync(ct);
            var batch = batches[i % batches.Length];
            sent.Enqueue((scheduled, batch.Events.Count));
            await call.RequestStream.WriteAsync(batch, ct);
            i += options.Concurrency;
        }

        await call.RequestStream.CompleteAsync();
        await reader;
        return latencies;
    }

    /// <summary>Waits until the scheduled time of the next call (open loop) and returns it; flat out returns now.</summary>
    private static async Task<TimeSpan> WaitForSlotAsync(Stopwatch clock, TimeSpan next, TimeSpan interval, CancellationToken ct)
    {
        if (interval == TimeSpan.Zero)
        {
            return clock.Elapsed;
        }

        var wait = next - clock.Elapsed;
        if (wait > TimeSpan.FromMilliseconds(2))
        {
            await Task.Delay(wait - TimeSpan.FromMilliseconds(1), ct);
        }

        while (clock.Elapsed < next)
        {
            Thread.SpinWait(20);
        }

        return next;
    }

    private void Count(int events, RecordResponse response)
    {
        Interlocked.Add(ref _events, events);
        Interlocked.Add(ref _accepted, (long)response.Accepted);
        Interlocked.Add(ref _rejected, (long)response.Rejected);
        Interlocked.Increment(ref _calls);
    }
}

using System.Diagnostics;
using System.Runtime;
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
/// Sends a pool of pre-built events over one rpc kind. With a rate, unary and batch calls are sent open-loop by one
/// dispatcher that never waits for answers, so a stalled server cannot slow the schedule down (coordinated
/// omission) and shows up in the percentiles as calls outstanding; streams pace their batches per worker.
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
        // Streams at a rate: the interval between the batches of one stream that gives the requested total rate.
        var callInterval = options.Rate > 0
            ? TimeSpan.FromSeconds(eventsPerCall * options.Concurrency / options.Rate)
            : TimeSpan.Zero;

        if (options.Rate > 0 && options.Mode is "unary" or "batch")
        {
            var unary = options.Mode == "unary";
            Func<int, Task<(int, RecordResponse, double)>> call = i => unary
                ? CallAsync(1, () => client.RecordPredictionAsync(pool[i % pool.Length], cancellationToken: cancellationToken))
                : CallAsync(batches[i % batches.Length].Events.Count, () => client.RecordPredictionsAsync(batches[i % batches.Length], cancellationToken: cancellationToken));
            // The generator's own full collections must not be measured as the server's latency: one blocking
            // gen2 collection in the run stalled every answer for ~25 ms a second into it, on either server. The
            // heap is compacted before the warm-up, and only background full collections run from then on.
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            var latencyMode = GCSettings.LatencyMode;
            GCSettings.LatencyMode = GCLatencyMode.SustainedLowLatency;
            List<double> openLoop;
            var stopwatch = new Stopwatch();
            try
            {
                stopwatch.Start();
                openLoop = await OpenLoopAsync(options.Rate / eventsPerCall, options.Warmup, options.Duration, call, cancellationToken);
                stopwatch.Stop();
            }
            finally
            {
                GCSettings.LatencyMode = latencyMode;
            }

            var sorted = openLoop.ToArray();
            Array.Sort(sorted);
            return new LoadResult(_events, _accepted, _rejected, _calls, stopwatch.Elapsed - options.Warmup, sorted);
        }

        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, options.Concurrency).Select(worker => options.Mode switch
        {
            "unary" => UnaryWorker(client, worker, clock, cancellationToken),
            "batch" => BatchWorker(client, batches, worker, clock, cancellationToken),
            _ => StreamWorker(client, batches, worker, callInterval, clock, cancellationToken),
        }).ToArray();
        var latencies = await Task.WhenAll(workers);
        var elapsed = clock.Elapsed;

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
        PredictionMonitor.PredictionMonitorClient client, int worker, Stopwatch clock, CancellationToken ct) =>
        CallWorker(worker, clock, async i => (1, await client.RecordPredictionAsync(pool[i % pool.Length], cancellationToken: ct)), ct);

    private Task<List<double>> BatchWorker(
        PredictionMonitor.PredictionMonitorClient client, PredictionBatch[] batches, int worker, Stopwatch clock, CancellationToken ct) =>
        CallWorker(worker, clock, async i =>
        {
            var batch = batches[i % batches.Length];
            return (batch.Events.Count, await client.RecordPredictionsAsync(batch, cancellationToken: ct));
        }, ct);

    /// <summary>
    /// Open loop: one dispatcher thread wakes every millisecond and sends every call that has come due, without
    /// waiting for any answer. A worker per call that spins until its slot would take the cores the server needs;
    /// a millisecond tick costs almost nothing. Latency runs from the moment each call is sent to its answer. The
    /// warm-up is the same loop, unmeasured: a pause between warm-up and measurement (a new dispatcher, its
    /// buffers) showed up as slow answers in the first few hundred milliseconds measured.
    /// </summary>
    private async Task<List<double>> OpenLoopAsync(
        double callsPerSecond, TimeSpan warmup, TimeSpan duration, Func<int, Task<(int Events, RecordResponse Response, double Ms)>> call, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var firstMeasured = (int)(warmup.TotalSeconds * callsPerSecond);
        var end = warmup + duration;
        var latencies = new List<double>((int)(callsPerSecond * duration.TotalSeconds) + 16);
        // Calls are counted, not kept: tens of thousands of finished tasks held until the end survive into the
        // older generations, and the collections that copy them stall the generator for milliseconds — seen as a
        // burst of slow answers that the server did not cause.
        var outstanding = 1; // the dispatcher's own, released when it has sent everything
        Exception? failure = null;
        var answered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var dispatcher = new Thread(() =>
        {
            var sent = 0;
            while (clock.Elapsed < end && !ct.IsCancellationRequested)
            {
                var due = (int)(clock.Elapsed.TotalSeconds * callsPerSecond);
                for (; sent < due; sent++)
                {
                    Interlocked.Increment(ref outstanding);
                    _ = Record(call(sent), measured: sent >= firstMeasured);
                }

                Thread.Sleep(1);
            }

            Release();
        }) { IsBackground = true, Name = "open-loop dispatcher" };
        dispatcher.Start();
        // Awaited, not joined: a pool thread blocked for the whole run would starve the answers' continuations.
        await answered.Task;
        if (failure is not null)
        {
            throw failure;
        }

        return latencies;

        async Task Record(Task<(int Events, RecordResponse Response, double Ms)> pending, bool measured)
        {
            try
            {
                var (events, response, ms) = await pending;
                if (measured)
                {
                    lock (latencies)
                    {
                        latencies.Add(ms);
                    }

                    Count(events, response);
                }
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref failure, e, null);
            }
            finally
            {
                Release();
            }
        }

        void Release()
        {
            if (Interlocked.Decrement(ref outstanding) == 0)
            {
                answered.TrySetResult();
            }
        }
    }

    private static async Task<(int Events, RecordResponse Response, double Ms)> CallAsync(int events, Func<AsyncUnaryCall<RecordResponse>> start)
    {
        var sent = Stopwatch.GetTimestamp();
        var response = await start();
        return (events, response, Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
    }

    /// <summary>Calls one after another, as fast as they are answered.</summary>
    private async Task<List<double>> CallWorker(
        int worker, Stopwatch clock, Func<int, Task<(int Events, RecordResponse Response)>> call, CancellationToken ct)
    {
        var latencies = new List<double>();
        var i = worker;
        while (clock.Elapsed < options.Duration && !ct.IsCancellationRequested)
        {
            var sent = clock.Elapsed;
            var (events, response) = await call(i);
            latencies.Add((clock.Elapsed - sent).TotalMilliseconds);
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

        // No spinning for the last millisecond: on two cores a spinning generator takes the server's CPU. A timer
        // that fires late adds to the measured latency (it runs from the scheduled time), never hides it.
        var wait = next - clock.Elapsed;
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, ct);
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

using System.Diagnostics.Metrics;
using Grpc.Core;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Ingest;
using MlMonitoring.Sidecar.Ingest.Wire;
using MlMonitoring.Sidecar.Tests.Infrastructure;

namespace MlMonitoring.Sidecar.Tests.Ingest;

public sealed class OverloadGuardTests : IDisposable
{
    private const string RecordPrediction = "/mlmonitoring.v1.PredictionMonitor/RecordPrediction";

    private readonly TestMeterFactory _meters = new();
    private readonly MeterListener _listener = new();
    private readonly List<string> _refusals = [];

    public OverloadGuardTests()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (_meters.Meters.Contains(instrument.Meter) && instrument.Name == "ml_sidecar_overload_refused")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            lock (_refusals)
            {
                _refusals.Add((string)tags[0].Value!);
            }
        });
        _listener.Start();
    }

    [Fact]
    public async Task A_call_past_the_concurrency_limit_is_refused_with_unavailable_and_a_retry_hint_until_one_finishes()
    {
        using var guard = Guard(maxConcurrentCalls: 1);
        var held = new TaskCompletionSource<string>();
        var first = guard.UnaryServerHandler("first", new TestServerCallContext(RecordPrediction), (_, _) => held.Task);

        var refused = await Assert.ThrowsAsync<RpcException>(() => guard.UnaryServerHandler("second", new TestServerCallContext(RecordPrediction), Answer));
        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        Assert.Contains("Monitoring:MaxConcurrentCalls", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Equal("200", refused.Trailers.GetValue("grpc-retry-pushback-ms"));
        Assert.Equal(["concurrency"], _refusals);

        held.SetResult("done");
        Assert.Equal("done", await first);
        Assert.Equal("third", await guard.UnaryServerHandler("third", new TestServerCallContext(RecordPrediction), Answer));
    }

    [Fact]
    public async Task Calls_that_complete_at_once_or_throw_give_their_place_back()
    {
        using var guard = Guard(maxConcurrentCalls: 1);
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal("x", await guard.UnaryServerHandler("x", new TestServerCallContext(RecordPrediction), Answer));
            Assert.Throws<InvalidOperationException>(() =>
            {
                _ = guard.UnaryServerHandler<string, string>("x", new TestServerCallContext(RecordPrediction), ThrowAtOnce);
            });
            await Assert.ThrowsAsync<InvalidOperationException>(() =>
                guard.UnaryServerHandler<string, string>("x", new TestServerCallContext(RecordPrediction), ThrowLater));
        }

        Assert.Empty(_refusals);
    }

    [Fact]
    public async Task Health_checks_are_answered_whatever_the_load()
    {
        using var guard = Guard(maxConcurrentCalls: 1, maxHeapBytes: 1);
        Assert.Equal("SERVING", await guard.UnaryServerHandler("SERVING", new TestServerCallContext("/grpc.health.v1.Health/Check"), Answer));
        Assert.Empty(_refusals);
    }

    [Fact]
    public async Task Above_the_heap_limit_calls_and_stream_batches_are_refused_for_memory()
    {
        // No process holds less than one byte: the limit is always exceeded, even after the forced collection.
        using var guard = Guard(maxConcurrentCalls: 10, maxHeapBytes: 1);
        var refused = await Assert.ThrowsAsync<RpcException>(() => guard.UnaryServerHandler("x", new TestServerCallContext(RecordPrediction), Answer));
        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        Assert.Contains("Monitoring:MaxHeapBytes", refused.Status.Detail, StringComparison.Ordinal);

        var batch = Assert.Throws<RpcException>(guard.EnsureHeapBelowLimit);
        Assert.Equal(StatusCode.Unavailable, batch.StatusCode);
        Assert.Equal(["memory", "memory"], _refusals);
    }

    [Fact]
    public void Without_a_heap_limit_no_batch_is_refused()
    {
        using var guard = Guard(maxConcurrentCalls: 1);
        for (var i = 0; i < 1000; i++)
        {
            guard.EnsureHeapBelowLimit();
        }

        Assert.Empty(_refusals);
    }

    [Fact]
    public async Task A_refused_call_returns_its_pooled_batch()
    {
        using var guard = Guard(maxConcurrentCalls: 1);
        var held = new TaskCompletionSource<string>();
        var first = guard.UnaryServerHandler("first", new TestServerCallContext(RecordPrediction), (_, _) => held.Task);

        var batch = IncomingBatchPool.Rent();
        Assert.True(batch.IsLeased);
        await Assert.ThrowsAsync<RpcException>(() => guard.UnaryServerHandler(batch, new TestServerCallContext(RecordPrediction), (_, _) => Task.FromResult("never")));
        Assert.False(batch.IsLeased);

        held.SetResult("done");
        await first;
    }

    public void Dispose()
    {
        _listener.Dispose();
        _meters.Dispose();
    }

    private OverloadGuard Guard(int maxConcurrentCalls, long? maxHeapBytes = null) =>
        new(Options.Create(new IngestOptions { MaxConcurrentCalls = maxConcurrentCalls, MaxHeapBytes = maxHeapBytes }), _meters);

    private static Task<T> Answer<T>(T request, ServerCallContext context) => Task.FromResult(request);

    private static Task<string> ThrowAtOnce(string request, ServerCallContext context) => throw new InvalidOperationException();

    private static async Task<string> ThrowLater(string request, ServerCallContext context)
    {
        await Task.Yield();
        throw new InvalidOperationException();
    }
}

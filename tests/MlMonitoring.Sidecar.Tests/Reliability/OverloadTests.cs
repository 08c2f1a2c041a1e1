using Grpc.Core;
using MlMonitoring.Sidecar.Tests.Infrastructure;

namespace MlMonitoring.Sidecar.Tests.Reliability;

public sealed class OverloadTests
{
    [Fact]
    public async Task Past_the_concurrent_call_limit_calls_are_refused_with_unavailable_and_a_retry_hint()
    {
        using var sidecar = new SidecarFactory(("Monitoring:MaxConcurrentCalls", "1"));
        var client = sidecar.CreateMonitorClient();
        using var stream = client.StreamPredictions();
        await stream.RequestStream.WriteAsync(Events.Batch(Events.Classified("m", "v1", "a", 0.9)));
        Assert.True(await stream.ResponseStream.MoveNext()); // the stream holds the only slot

        var refused = await Assert.ThrowsAsync<RpcException>(async () => await client.RecordPredictionAsync(Events.Classified("m", "v1", "a", 0.9)));

        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        Assert.Equal("200", refused.Trailers.GetValue("grpc-retry-pushback-ms"));
        await stream.RequestStream.CompleteAsync();
        Assert.False(await stream.ResponseStream.MoveNext());
        Assert.Equal(1UL, (await client.RecordPredictionAsync(Events.Classified("m", "v1", "a", 0.9))).Accepted);
        var metrics = await sidecar.ScrapeAsync();
        Assert.Equal(1, metrics.Value("ml_sidecar_overload_refused_total", ("reason", "concurrency")));
        Assert.Equal(2, metrics.Value("ml_prediction_requests_total", ("model_name", "m"), ("model_version", "v1")));
    }

    [Fact]
    public async Task Above_the_heap_limit_calls_are_refused_until_memory_is_back()
    {
        // A limit below what the host itself holds: every ingest call is refused, health still answers.
        using var sidecar = new SidecarFactory(("Monitoring:MaxHeapBytes", (16 * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var client = sidecar.CreateMonitorClient();
        var ballast = new byte[32 * 1024 * 1024];
        GC.KeepAlive(ballast);

        var refused = await Assert.ThrowsAsync<RpcException>(async () => await client.RecordPredictionAsync(Events.Classified("m", "v1", "a", 0.9)));

        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        Assert.Contains("Monitoring:MaxHeapBytes", refused.Status.Detail, StringComparison.Ordinal);
        GC.KeepAlive(ballast);
    }
}

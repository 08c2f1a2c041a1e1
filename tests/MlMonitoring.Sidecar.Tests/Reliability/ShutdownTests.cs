using System.Diagnostics;
using Grpc.Core;
using Grpc.Health.V1;
using MlMonitoring.Sidecar.Tests.Infrastructure;

namespace MlMonitoring.Sidecar.Tests.Reliability;

[Trait("Parts", "Real")]
public sealed class ShutdownTests
{
    [Fact]
    public async Task Sigterm_ends_the_open_stream_cleanly_keeps_what_was_answered_and_exits_within_five_seconds()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("mlmon-shutdown-").FullName, "join.db");
        var settings = new Dictionary<string, string>
        {
            ["Monitoring__SharedState__Store"] = "sqlite",
            ["Monitoring__SharedState__SqlitePath"] = path,
        };
        await using var sidecar = await SidecarProcess.StartAsync(settings);
        var client = sidecar.CreateMonitorClient();
        using var call = client.StreamPredictions();
        var batch = Events.Batch([.. Enumerable.Range(0, 200).Select(i =>
        {
            var e = Events.Classified("fraud", "v1", "legit", 0.9);
            e.PredictionId = $"tx-{i}";
            return e;
        })]);
        await call.RequestStream.WriteAsync(batch);
        Assert.True(await call.ResponseStream.MoveNext());
        Assert.Equal(200UL, call.ResponseStream.Current.Accepted);

        var stopwatch = Stopwatch.StartNew();
        var exitCode = await sidecar.Process.TerminateAsync(TimeSpan.FromSeconds(10));
        var stoppedIn = stopwatch.Elapsed;

        // The client is not left hanging: its stream ends (with OK, or with the connection's close).
        var ended = Task.Run(async () =>
        {
            try
            {
                return await call.ResponseStream.MoveNext();
            }
            catch (RpcException)
            {
                return false;
            }
        });
        Assert.False(await ended.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(0, exitCode);
        Assert.True(stoppedIn < TimeSpan.FromSeconds(5), $"stopped in {stoppedIn}");

        // The answered batch was persisted on the way out: its labels join after a restart.
        await using var restarted = await SidecarProcess.StartAsync(settings);
        var labels = new MlMonitoring.V1.GroundTruthBatch();
        labels.Labels.AddRange(Enumerable.Range(0, 200).Select(i => new MlMonitoring.V1.GroundTruth { PredictionId = $"tx-{i}", ActualClass = "legit" }));
        await restarted.CreateMonitorClient().RecordGroundTruthAsync(labels);
        Assert.Equal(200, (await restarted.ScrapeAsync()).Value("ml_ground_truth_sample_size", ("model_name", "fraud"), ("model_version", "v1")));
    }

    [Fact]
    public async Task Sigterm_tells_health_watchers_not_serving_and_flushes_otlp_before_exit()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var sidecar = await SidecarProcess.StartAsync(new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{receiver.GrpcPort}",
            // No periodic export would come within the test: only the one made on the way out.
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "600000",
        });
        await sidecar.CreateMonitorClient().RecordPredictionsAsync(Events.Batch([.. Enumerable.Range(0, 123).Select(_ => Events.Classified("m", "v1", "a", 0.9))]));
        using var watch = new Health.HealthClient(sidecar.Channel).Watch(new HealthCheckRequest());
        Assert.True(await watch.ResponseStream.MoveNext());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, watch.ResponseStream.Current.Status);
        var next = watch.ResponseStream.MoveNext();

        var stopwatch = Stopwatch.StartNew();
        var exitCode = await sidecar.Process.TerminateAsync(TimeSpan.FromSeconds(10));
        var stoppedIn = stopwatch.Elapsed;

        Assert.True(await next);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, watch.ResponseStream.Current.Status);
        Assert.Equal(0, exitCode);
        Assert.True(stoppedIn < TimeSpan.FromSeconds(5), $"stopped in {stoppedIn}");
        Assert.Equal(123, receiver.LatestSum("ml_prediction_requests"));
    }

    [Fact]
    public async Task Sigterm_with_the_otlp_backend_hung_still_exits_within_five_seconds()
    {
        await using var stalled = new StallingListener();
        await using var sidecar = await SidecarProcess.StartAsync(new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{stalled.Port}",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "600000",
        });
        sidecar.Logs.Expected.AddRange(["The last OTLP export did not finish within 1000 ms", "OTLP export to"]);
        await sidecar.CreateMonitorClient().RecordPredictionsAsync(Events.Batch(Events.Classified("m", "v1", "a", 0.9)));

        var stopwatch = Stopwatch.StartNew();
        var exitCode = await sidecar.Process.TerminateAsync(TimeSpan.FromSeconds(30));
        var stoppedIn = stopwatch.Elapsed;

        Assert.Equal(0, exitCode);
        Assert.True(stoppedIn < TimeSpan.FromSeconds(5), $"stopped in {stoppedIn}");
        Assert.True(stalled.Accepted > 0);
    }
}

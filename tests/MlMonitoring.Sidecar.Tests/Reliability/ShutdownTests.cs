using System.Diagnostics;
using Grpc.Core;
using MlMonitoring.Sidecar.Tests.Infrastructure;

namespace MlMonitoring.Sidecar.Tests.Reliability;

public sealed class ShutdownTests
{
    [Fact]
    public async Task Sigterm_ends_the_open_stream_cleanly_keeps_what_was_answered_and_exits_within_five_seconds()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("mlmon-shutdown-").FullName, "join.db");
        var settings = new Dictionary<string, string>
        {
            ["Monitoring__GroundTruth__Store"] = "sqlite",
            ["Monitoring__GroundTruth__SqlitePath"] = path,
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
}

using MlMonitoring.Sidecar.Tests.Infrastructure;
using MlMonitoring.V1;
using Label = MlMonitoring.V1.GroundTruth;

namespace MlMonitoring.Sidecar.Tests.GroundTruth;

/// <summary>The persistent and shared stores, against real SQLite files and a real redis-server.</summary>
[Trait("Parts", "Real")]
public sealed class ReplicaJoinTests
{
    [Fact]
    public async Task With_the_sqlite_store_a_label_sent_after_a_restart_still_joins()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("mlmon-sqlite-").FullName, "join.db");
        var settings = new Dictionary<string, string>
        {
            ["Monitoring__SharedState__Store"] = "sqlite",
            ["Monitoring__SharedState__SqlitePath"] = path,
        };

        await using (var before = await SidecarProcess.StartAsync(settings))
        {
            var batch = new PredictionBatch();
            for (var i = 0; i < 50; i++)
            {
                var e = Events.Classified("fraud", "v3", i % 5 == 0 ? "fraud" : "legit", 0.9);
                e.PredictionId = $"tx-{i}";
                batch.Events.Add(e);
            }

            Assert.Equal(50UL, (await before.CreateMonitorClient().RecordPredictionsAsync(batch)).Accepted);
            // A pod restart: SIGTERM, the queued writes are flushed on the way out.
            Assert.Equal(0, await before.Process.TerminateAsync(TimeSpan.FromSeconds(10)));
        }

        await using var after = await SidecarProcess.StartAsync(settings);
        var labels = new GroundTruthBatch();
        for (var i = 0; i < 50; i++)
        {
            labels.Labels.Add(new Label { PredictionId = $"tx-{i}", ActualClass = i % 10 == 0 ? "fraud" : "legit" });
        }

        var response = await after.CreateMonitorClient().RecordGroundTruthAsync(labels);

        Assert.Equal(50UL, response.Accepted);
        var metrics = await after.ScrapeAsync();
        (string, string)[] model = [("model_name", "fraud"), ("model_version", "v3")];
        Assert.Equal(5, metrics.Value("ml_ground_truth_total", [.. model, ("predicted_class", "fraud"), ("actual_class", "fraud")]));
        Assert.Equal(5, metrics.Value("ml_ground_truth_total", [.. model, ("predicted_class", "fraud"), ("actual_class", "legit")]));
        Assert.Equal(40, metrics.Value("ml_ground_truth_total", [.. model, ("predicted_class", "legit"), ("actual_class", "legit")]));
        Assert.Equal(0.9, metrics.Value("ml_model_accuracy", model), 1e-12);
        Assert.Null(metrics.Find("ml_ground_truth_unmatched_total", ("reason", "unknown")));
    }

    [Fact]
    public async Task Two_sidecars_sharing_redis_join_a_label_sent_to_the_other_replica_exactly_once()
    {
        await using var redis = await RedisServer.StartAsync();
        var settings = new Dictionary<string, string>
        {
            ["Monitoring__SharedState__Store"] = "redis",
            ["Monitoring__SharedState__RedisConfiguration"] = redis.Configuration,
        };
        await using var replicaA = await SidecarProcess.StartAsync(settings);
        await using var replicaB = await SidecarProcess.StartAsync(settings);
        var clientA = replicaA.CreateMonitorClient();
        var clientB = replicaB.CreateMonitorClient();

        var batch = new PredictionBatch();
        for (var i = 0; i < 20; i++)
        {
            var e = Events.Classified("churn", "v1", i < 15 ? "stay" : "leave", 0.8);
            e.PredictionId = $"user-{i}";
            batch.Events.Add(e);
        }

        await clientA.RecordPredictionsAsync(batch);
        // The written prediction becomes visible to B once A's queue has flushed; labels to A flush it first.
        await clientA.RecordGroundTruthAsync(new GroundTruthBatch());
        var labels = new GroundTruthBatch();
        for (var i = 0; i < 20; i++)
        {
            labels.Labels.Add(new Label { PredictionId = $"user-{i}", ActualClass = i < 10 ? "stay" : "leave" });
        }

        // The label feeder reaches both replicas with the same labels, concurrently.
        var responses = await Task.WhenAll(
            clientB.RecordGroundTruthAsync(labels).ResponseAsync,
            clientA.RecordGroundTruthAsync(labels).ResponseAsync);

        Assert.All(responses, r => Assert.Equal(20UL, r.Accepted));
        var (metricsA, metricsB) = (await replicaA.ScrapeAsync(), await replicaB.ScrapeAsync());
        double Joined(MetricsText m) => m.All("ml_ground_truth_total").Sum(s => s.Value);
        double Duplicates(MetricsText m) => m.Find("ml_ground_truth_unmatched_total", ("reason", "duplicate")) ?? 0;
        Assert.Equal(20, Joined(metricsA) + Joined(metricsB));
        Assert.Equal(20, Duplicates(metricsA) + Duplicates(metricsB));
        // Summed across replicas as PromQL would, the confusion matrix is exact.
        double Cell(string predicted, string actual) =>
            new[] { metricsA, metricsB }.Sum(m => m.Find("ml_ground_truth_total", ("model_name", "churn"), ("model_version", "v1"), ("predicted_class", predicted), ("actual_class", actual)) ?? 0);
        Assert.Equal((10, 5, 0, 5), (Cell("stay", "stay"), Cell("stay", "leave"), Cell("leave", "stay"), Cell("leave", "leave")));
    }
}

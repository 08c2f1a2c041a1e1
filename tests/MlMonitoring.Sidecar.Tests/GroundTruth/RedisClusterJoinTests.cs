using MlMonitoring.Sidecar.Tests.Infrastructure;
using MlMonitoring.V1;
using Label = MlMonitoring.V1.GroundTruth;

namespace MlMonitoring.Sidecar.Tests.GroundTruth;

/// <summary>The redis store against a real three-master Redis Cluster.</summary>
[Trait("Parts", "Real")]
public sealed class RedisClusterJoinTests
{
    [Fact]
    public async Task Labels_sent_through_replicas_connected_to_other_masters_join_exactly_once_and_the_baseline_is_shared()
    {
        await using var cluster = await RedisCluster.StartAsync();
        // The store's keys share one slot; each replica connects to a different master, so at least two of them
        // reach the keys only through the cluster's redirection.
        var holder = await cluster.MasterOfAsync("{mlmon:}pending");
        var replicas = new List<SidecarProcess>();
        try
        {
            foreach (var port in cluster.Ports.OrderBy(p => p == holder ? 0 : 1))
            {
                replicas.Add(await SidecarProcess.StartAsync(
                    SidecarProcess.ReplicaSettings($"127.0.0.1:{port}", ("Monitoring__Drift__BaselineSize", "100"))));
            }

            // Predictions through the replica on the holding master, labels through the two others.
            var predictions = new PredictionBatch();
            for (var i = 0; i < 200; i++)
            {
                var e = Events.Classified("fraud", "v1", i % 4 == 0 ? "fraud" : "legit", 0.9);
                e.PredictionId = $"tx-{i}";
                e.Features["amount"] = i;
                predictions.Events.Add(e);
            }

            Assert.Equal(200UL, (await replicas[0].CreateMonitorClient().RecordPredictionsAsync(predictions)).Accepted);
            for (var r = 1; r <= 2; r++)
            {
                var labels = new GroundTruthBatch();
                labels.Labels.AddRange(Enumerable.Range(0, 200).Where(i => i % 2 == r - 1).Select(i => new Label { PredictionId = $"tx-{i}", ActualClass = "legit" }));
                Assert.Equal(100UL, (await replicas[r].CreateMonitorClient().RecordGroundTruthAsync(labels)).Accepted);
                // Sent again: every one is a duplicate now, whichever replica it reaches.
                Assert.Equal(100UL, (await replicas[3 - r].CreateMonitorClient().RecordGroundTruthAsync(labels)).Accepted);
            }

            double joined = 0, duplicates = 0;
            foreach (var replica in replicas)
            {
                var metrics = await replica.ScrapeAsync();
                joined += metrics.Find("ml_ground_truth_sample_size", ("model_name", "fraud"), ("model_version", "v1")) ?? 0;
                duplicates += metrics.Find("ml_ground_truth_unmatched_total", ("reason", "duplicate")) ?? 0;
            }

            Assert.Equal((200.0, 200.0), (joined, duplicates));

            // The baseline completed on the first replica is the one the others adopt.
            var status = await WaitForPinnedAsync(replicas[2]);
            Assert.Equal(100UL, status.BaselineEvents);
        }
        finally
        {
            foreach (var replica in replicas)
            {
                await replica.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task With_partitions_the_pending_predictions_spread_over_every_master_and_join_exactly_once()
    {
        await using var cluster = await RedisCluster.StartAsync();
        var replicas = new List<SidecarProcess>();
        try
        {
            foreach (var port in cluster.Ports)
            {
                replicas.Add(await SidecarProcess.StartAsync(
                    SidecarProcess.ReplicaSettings($"127.0.0.1:{port}", ("Monitoring__SharedState__RedisPartitions", "12"))));
            }

            // 600 predictions over the three replicas, their labels each sent to another replica than its prediction.
            for (var r = 0; r < 3; r++)
            {
                var predictions = new PredictionBatch();
                for (var i = r; i < 600; i += 3)
                {
                    var e = Events.Classified("fraud", "v1", i % 4 == 0 ? "fraud" : "legit", 0.9);
                    e.PredictionId = $"tx-{i}";
                    predictions.Events.Add(e);
                }

                Assert.Equal(200UL, (await replicas[r].CreateMonitorClient().RecordPredictionsAsync(predictions)).Accepted);
            }

            var perMaster = await cluster.KeysPerMasterAsync();
            Assert.All(perMaster, master => Assert.True(master.Value >= 50, $"master on {master.Key} holds {master.Value} keys: {string.Join(", ", perMaster)}"));

            for (var r = 0; r < 3; r++)
            {
                var labels = new GroundTruthBatch();
                labels.Labels.AddRange(Enumerable.Range(0, 600).Where(i => i % 3 == r).Select(i => new Label { PredictionId = $"tx-{i}", ActualClass = "legit" }));
                Assert.Equal(200UL, (await replicas[(r + 1) % 3].CreateMonitorClient().RecordGroundTruthAsync(labels)).Accepted);
                Assert.Equal(200UL, (await replicas[(r + 2) % 3].CreateMonitorClient().RecordGroundTruthAsync(labels)).Accepted); // duplicates now
            }

            double joined = 0, duplicates = 0, unknown = 0;
            foreach (var replica in replicas)
            {
                var metrics = await replica.ScrapeAsync();
                joined += metrics.Find("ml_ground_truth_sample_size", ("model_name", "fraud"), ("model_version", "v1")) ?? 0;
                duplicates += metrics.Find("ml_ground_truth_unmatched_total", ("reason", "duplicate")) ?? 0;
                unknown += metrics.Find("ml_ground_truth_unmatched_total", ("reason", "unknown")) ?? 0;
            }

            Assert.Equal((600.0, 600.0, 0.0), (joined, duplicates, unknown));
        }
        finally
        {
            foreach (var replica in replicas)
            {
                await replica.DisposeAsync();
            }
        }
    }

    private static async Task<ModelStatus> WaitForPinnedAsync(SidecarProcess replica)
    {
        // A status names a version the replica has seen events of: one event, then the fleet's baseline arrives at
        // its next read of the store.
        await replica.CreateMonitorClient().RecordPredictionAsync(Events.Classified("fraud", "v1", "legit", 0.9));
        return await Eventually.ReturnsAsync(
            async () =>
            {
                var status = await replica.CreateMonitorClient().GetModelStatusAsync(new ModelStatusRequest { ModelName = "fraud", ModelVersion = "v1" });
                Assert.True(status.BaselinePinned, $"no fleet baseline yet: {status}");
                return status;
            },
            TimeSpan.FromSeconds(30),
            TimeSpan.FromMilliseconds(200));
    }
}

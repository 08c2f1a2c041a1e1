using System.Diagnostics;
using MlMonitoring.Sidecar.Tests.Infrastructure;
using MlMonitoring.V1;
using Xunit.Abstractions;
using Label = MlMonitoring.V1.GroundTruth;

namespace MlMonitoring.Sidecar.Tests.EndToEnd;

/// <summary>
/// A fleet of three sidecar processes whose shared store, a real redis-server without persistence, stops and
/// restarts empty, as a Redis pod without a volume does: no accepted label is lost, refused ones join when sent
/// again, and the fleet keeps one drift baseline per model version, a replica started after the restart included.
/// </summary>
[Trait("Parts", "Real")]
public sealed class StoreRestartEndToEndTests(ITestOutputHelper output)
{
    private const int BaselineSize = 200;

    [Fact]
    public async Task Through_an_empty_restart_of_the_store_every_accepted_label_joins_and_the_fleet_keeps_one_baseline()
    {
        await using var redis = await RedisServer.StartAsync();
        // A short drift window, so that every replica's can be emptied and then given the same events.
        (string, string)[] common = [("Monitoring__Drift__BaselineSize", "200"), ("Monitoring__Drift__Window", "00:00:04")];
        // The replicas that hold the baseline read the store every 3 s, so that the late replica, reading it every
        // 100 ms, publishes a baseline of its own into the empty store first: the case the holders must correct.
        var settings = SidecarProcess.ReplicaSettings(redis.Configuration, [.. common, ("Monitoring__Drift__SyncInterval", "00:00:03")]);
        await using var a = await SidecarProcess.StartAsync(settings);
        await using var b = await SidecarProcess.StartAsync(settings);
        await using var c = await SidecarProcess.StartAsync(settings);
        SidecarProcess[] replicas = [a, b, c];
        foreach (var replica in replicas)
        {
            replica.Logs.Expected.AddRange(["Shared-state store", "drift baseline", "drift baselines", "handed-over windows"]);
        }

        var random = new Random(31);

        // The drift baseline of "drifty", completed on a and adopted by the others, which had begun capturing.
        await SendDriftyAsync(b, random, 20, shift: 0);
        await SendDriftyAsync(c, random, 20, shift: 0);
        await SendDriftyAsync(a, random, BaselineSize, shift: 0);
        var fleetBaseline = await Eventually.ReturnsAsync(async () => await OneBaselineAsync(replicas), TimeSpan.FromSeconds(20));

        // Labelled before the outage: joined.
        await SendPredictionsAsync(replicas, random, "a", 300);
        var pending = Labels("a", 0, 150);
        await SendUntilAcceptedAsync(replicas, random, pending);

        // The store goes away. Predictions are still answered and queued; labels are refused as retryable, quickly.
        await redis.StopAsync();
        await SendPredictionsAsync(replicas, random, "b", 300);
        pending = [.. Labels("a", 150, 300), .. Labels("b", 0, 300)];
        var slowest = TimeSpan.Zero;
        foreach (var chunk in pending.Chunk(50))
        {
            var timer = Stopwatch.StartNew();
            var response = await replicas[random.Next(3)].CreateMonitorClient().RecordGroundTruthAsync(
                new GroundTruthBatch { Labels = { chunk } }, deadline: DateTime.UtcNow.AddSeconds(3));
            slowest = timer.Elapsed > slowest ? timer.Elapsed : slowest;
            Assert.Equal((0UL, (ulong)chunk.Length), (response.Accepted, response.Rejected));
            Assert.All(response.Rejections, r => Assert.True(r.Retryable, r.Reason));
        }

        output.WriteLine($"slowest label call while the store was down: {slowest.TotalMilliseconds:F0} ms");

        // Back, empty. A replica starts at once, its traffic shifted by one standard deviation: it finds no baseline
        // and captures one of its own, while the others are still reconnecting.
        await redis.StartAgainAsync();
        await using var late = await SidecarProcess.StartAsync(SidecarProcess.ReplicaSettings(redis.Configuration, [.. common, ("Monitoring__Drift__SyncInterval", "00:00:00.100")]));
        late.Logs.Expected.AddRange(["Shared-state store", "drift baseline", "handed-over windows"]);
        SidecarProcess[] fleet = [a, b, c, late];
        await SendDriftyAsync(late, random, BaselineSize, shift: 1);

        // The refused labels are sent again, to any replica, at once: some replicas have not reconnected yet, and
        // the predictions queued in them are not in the store yet.
        await SendUntilAcceptedAsync(replicas, random, pending);

        // After recovery: labelled a second later, joined.
        await SendPredictionsAsync(replicas, random, "c", 300);
        await Task.Delay(1_000);
        await SendUntilAcceptedAsync(fleet, random, Labels("c", 0, 300));

        // Every accepted label joined, exactly once, but those of the predictions the empty store lost ("a-150" on),
        // counted unknown once their grace was over.
        await Eventually.AssertAsync(
            async () =>
            {
                var scrapes = await Task.WhenAll(fleet.Select(r => r.ScrapeAsync()));
                double Sum(string name, params (string, string)[] labels) => scrapes.Sum(m => m.Find(name, labels) ?? 0);
                Assert.Equal(0, Sum("ml_ground_truth_early_waiting", ("kind", "label")));
                Assert.Equal(150 + 300 + 300, Sum("ml_ground_truth_correct_total", ("model_name", "fraud"), ("model_version", "v1")));
                Assert.Equal(150 + 300 + 300, scrapes.Sum(m => m.All("ml_ground_truth_total").Sum(s => s.Value)));
                Assert.Equal(150, Sum("ml_ground_truth_unmatched_total", ("reason", "unknown")));
                output.WriteLine($"duplicates (labels sent again after a claim that answered late): {Sum("ml_ground_truth_unmatched_total", ("reason", "duplicate"))}");
            },
            TimeSpan.FromSeconds(30));

        // One baseline for the fleet, the one from before the restart, on the late replica too.
        var after = await Eventually.ReturnsAsync(async () => await OneBaselineAsync(fleet), TimeSpan.FromSeconds(20));
        Assert.Equal(fleetBaseline.Fingerprint, after.Fingerprint);
        output.WriteLine($"baseline before the restart: epoch {fleetBaseline.Epoch} {fleetBaseline.Fingerprint}; after: epoch {after.Epoch} {after.Fingerprint}");

        // The same shifted traffic to every replica, once their windows have emptied: the same drift on each, the
        // late one included.
        await Task.Delay(TimeSpan.FromSeconds(5));
        var batch = DriftyBatch(random, 500, shift: 1);
        foreach (var replica in fleet)
        {
            Assert.Equal(500UL, (await replica.CreateMonitorClient().RecordPredictionsAsync(batch)).Accepted);
        }

        var psi = await Task.WhenAll(fleet.Select(async r => (await r.CreateMonitorClient().GetModelStatusAsync(new ModelStatusRequest { ModelName = "drifty", ModelVersion = "v1" }))
            .Drift.Single(d => d.Signal == "feature" && d.FeatureName == "x").Psi));
        output.WriteLine($"PSI(x) per replica: {string.Join(", ", psi.Select(p => p.ToString("F4", System.Globalization.CultureInfo.InvariantCulture)))}");
        Assert.True(psi[0] > 0.25, $"a one standard deviation shift: PSI {psi[0]}");
        Assert.All(psi, p => Assert.InRange(p, psi[0] * 0.99, psi[0] * 1.01));
    }

    /// <summary>The one (epoch, fingerprint) that every replica's <c>ml_drift_baseline_info</c> of drifty shows; fails while they differ.</summary>
    private static async Task<(string Epoch, string Fingerprint)> OneBaselineAsync(IEnumerable<SidecarProcess> replicas)
    {
        var held = new List<(string, string)>();
        foreach (var replica in replicas)
        {
            var info = (await replica.ScrapeAsync()).All("ml_drift_baseline_info").Where(s => s.Labels["model_name"] == "drifty").ToList();
            var one = Assert.Single(info);
            held.Add((one.Labels["epoch"], one.Labels["fingerprint"]));
        }

        return Assert.Single(held.Distinct());
    }

    private static async Task SendPredictionsAsync(SidecarProcess[] replicas, Random random, string prefix, int count)
    {
        var batches = replicas.Select(_ => new PredictionBatch()).ToArray();
        for (var i = 0; i < count; i++)
        {
            var e = Events.Classified("fraud", "v1", "legit", 0.9);
            e.PredictionId = $"{prefix}-{i}";
            batches[random.Next(replicas.Length)].Events.Add(e);
        }

        for (var r = 0; r < replicas.Length; r++)
        {
            Assert.Equal((ulong)batches[r].Events.Count, (await replicas[r].CreateMonitorClient().RecordPredictionsAsync(batches[r])).Accepted);
        }
    }

    private static List<Label> Labels(string prefix, int from, int to) =>
        [.. Enumerable.Range(from, to - from).Select(i => new Label { PredictionId = $"{prefix}-{i}", ActualClass = "legit" })];

    /// <summary>Sends labels to random replicas as a client does: what is refused as retryable goes again after a pause.</summary>
    private static async Task SendUntilAcceptedAsync(SidecarProcess[] replicas, Random random, List<Label> labels)
    {
        async Task<bool> SendRefused()
        {
            var refused = new List<Label>();
            foreach (var chunk in labels.Chunk(50))
            {
                var response = await replicas[random.Next(replicas.Length)].CreateMonitorClient().RecordGroundTruthAsync(
                    new GroundTruthBatch { Labels = { chunk } }, deadline: DateTime.UtcNow.AddSeconds(3));
                Assert.All(response.Rejections, r => Assert.True(r.Retryable, r.Reason));
                refused.AddRange(response.Rejections.Select(r => chunk[(int)r.Index]));
            }

            labels = refused;
            return labels.Count == 0;
        }

        await Eventually.WaitAsync(SendRefused, TimeSpan.FromSeconds(60), () => $"{labels.Count} labels still refused", TimeSpan.FromMilliseconds(200));
    }

    private static async Task SendDriftyAsync(SidecarProcess replica, Random random, int count, double shift) =>
        Assert.Equal((ulong)count, (await replica.CreateMonitorClient().RecordPredictionsAsync(DriftyBatch(random, count, shift))).Accepted);

    private static PredictionBatch DriftyBatch(Random random, int count, double shift)
    {
        var batch = new PredictionBatch();
        for (var i = 0; i < count; i++)
        {
            var e = Events.Classified("drifty", "v1", random.NextDouble() < 0.8 ? "legit" : "fraud", 0.9);
            e.Features["x"] = (Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble())) + shift;
            batch.Events.Add(e);
        }

        return batch;
    }
}

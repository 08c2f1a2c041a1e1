using MlMonitoring.Sidecar.Tests.Infrastructure;
using MlMonitoring.V1;
using Xunit.Abstractions;
using Label = MlMonitoring.V1.GroundTruth;

namespace MlMonitoring.Sidecar.Tests.EndToEnd;

/// <summary>
/// A replica scaled down hands its windows over through a real redis-server, and one replica that stays adopts
/// them: every window count the fleet sums (labels, feature moments, drift bins, the estimate's terms) is, after
/// the handover, what the two replicas held between them before it. With a SQLite file, a restarted sidecar takes
/// back its own.
/// </summary>
[Trait("Parts", "Real")]
public sealed class FleetHandoverEndToEndTests(ITestOutputHelper output)
{
    /// <summary>The window gauges the fleet rules sum across replicas.</summary>
    private static readonly string[] WindowCounts =
    [
        "ml_ground_truth_window_labels", "ml_ground_truth_window_regression_labels", "ml_ground_truth_window_absolute_error",
        "ml_ground_truth_window_squared_error", "ml_ground_truth_window_calibration_labels", "ml_ground_truth_window_calibration_correct",
        "ml_ground_truth_window_calibration_confidence", "ml_feature_window_values", "ml_feature_window_sum_of_values",
        "ml_feature_window_sum_of_squares", "ml_feature_window_bucket", "ml_drift_window_bin", "ml_drift_window_confidence", "ml_drift_window_confident_predictions",
    ];

    [Fact]
    public async Task A_stopped_replicas_window_counts_are_adopted_by_a_replica_that_stays()
    {
        await using var redis = await RedisServer.StartAsync();
        var settings = SidecarProcess.ReplicaSettings(
            redis.Configuration,
            ("Monitoring__Drift__BaselineSize", "100"),
            ("Monitoring__Drift__SyncInterval", "00:00:00.200"),
            ("Monitoring__Handover__AdoptAfter", "00:00:00"),
            ("Monitoring__Handover__PollInterval", "00:00:00.200"),
            ("Monitoring__SnapshotReuse", "00:00:00"));
        await using var staying = await SidecarProcess.StartAsync(settings);
        await using var stopping = await SidecarProcess.StartAsync(settings);
        var random = new Random(21);

        // The baseline is completed on the replica that stays and read by the other (every 200 ms) before its first
        // event of the version: then both count in its bins.
        await SendAsync(staying, random, 100, "b");
        await WaitAsync(async () => BaselineEvents(await staying.ScrapeAsync()) == 100, "the baseline completed");
        await Task.Delay(1000);
        var labels = new List<Label>();
        labels.AddRange(await SendAsync(staying, random, 300, "s"));
        labels.AddRange(await SendAsync(stopping, random, 500, "p"));
        Assert.Equal(100, BaselineEvents(await stopping.ScrapeAsync()));
        var regression = new PredictionBatch();
        for (var i = 0; i < 50; i++)
        {
            var e = Events.Regressed("price", "v2", Math.Round(random.NextDouble() * 100, 3));
            e.PredictionId = $"r-{i}";
            regression.Events.Add(e);
            labels.Add(new Label { PredictionId = e.PredictionId, ActualValue = Math.Round(random.NextDouble() * 100, 3) });
        }

        await stopping.CreateMonitorClient().RecordPredictionsAsync(regression);
        foreach (var chunk in labels.OrderBy(_ => random.Next()).Chunk(40))
        {
            var target = random.Next(2) == 0 ? staying : stopping;
            Assert.Equal(0UL, (await target.CreateMonitorClient().RecordGroundTruthAsync(new GroundTruthBatch { Labels = { chunk } })).Rejected);
        }

        var before = Sum(await staying.ScrapeAsync(), await stopping.ScrapeAsync());
        Assert.Equal(labels.Count - 50, before.Where(s => s.Key.StartsWith("ml_ground_truth_window_labels", StringComparison.Ordinal)).Sum(s => s.Value));

        Assert.Equal(0, await stopping.Process.TerminateAsync(TimeSpan.FromSeconds(10)));
        await WaitAsync(async () => (await staying.ScrapeAsync()).Find("ml_sidecar_windows_adopted_total") == 2, "the stopped replica's windows adopted");
        var after = Sum(await staying.ScrapeAsync());

        output.WriteLine($"{before.Count} window series; labels {before.Where(s => s.Key.StartsWith("ml_ground_truth_window_labels", StringComparison.Ordinal)).Sum(s => s.Value)}");
        Assert.Equal(before.Keys.Order(StringComparer.Ordinal), after.Keys.Order(StringComparer.Ordinal));
        foreach (var (series, value) in before)
        {
            // Sums of doubles added in another order: equal to the last few bits.
            Assert.True(Math.Abs(after[series] - value) <= 1e-9 * Math.Max(1, Math.Abs(value)), $"{series}: {after[series]:R} after, {value:R} before");
        }
    }

    [Fact]
    public async Task A_sidecar_restarted_on_its_sqlite_file_takes_back_the_windows_it_handed_over()
    {
        // One replica, its store a file on a volume that outlives the container (an emptyDir): a restart of the
        // sidecar keeps the pending predictions and, handed over to the next process, its windows.
        var file = Path.Combine(Directory.CreateTempSubdirectory("mlmon-restart-").FullName, "state.db");
        var settings = new Dictionary<string, string>
        {
            ["Monitoring__SharedState__Store"] = "sqlite",
            ["Monitoring__SharedState__SqlitePath"] = file,
            ["Monitoring__Drift__BaselineSize"] = "100",
            ["Monitoring__Handover__AdoptAfter"] = "00:00:00",
            ["Monitoring__Handover__PollInterval"] = "00:00:00.200",
            ["Monitoring__SnapshotReuse"] = "00:00:00",
        };
        var random = new Random(5);
        Dictionary<string, double> before;
        List<Label> labels;
        await using (var first = await SidecarProcess.StartAsync(settings))
        {
            labels = await SendAsync(first, random, 400, "a");
            Assert.Equal(0UL, (await first.CreateMonitorClient().RecordGroundTruthAsync(new GroundTruthBatch { Labels = { labels.Take(300) } })).Rejected);
                before = Sum(await first.ScrapeAsync());
            Assert.Equal(0, await first.Process.TerminateAsync(TimeSpan.FromSeconds(10)));
        }

        await using var restarted = await SidecarProcess.StartAsync(settings);
        await WaitAsync(async () => (await restarted.ScrapeAsync()).Find("ml_sidecar_windows_adopted_total") == 1, "the windows taken back");
        // The labels still to come join the predictions the file kept.
        Assert.Equal(100UL, (await restarted.CreateMonitorClient().RecordGroundTruthAsync(new GroundTruthBatch { Labels = { labels.Skip(300) } })).Accepted);
        var after = Sum(await restarted.ScrapeAsync());

        Assert.Equal(300, before.Where(s => s.Key.StartsWith("ml_ground_truth_window_labels", StringComparison.Ordinal)).Sum(s => s.Value));
        Assert.Equal(400, after.Where(s => s.Key.StartsWith("ml_ground_truth_window_labels", StringComparison.Ordinal)).Sum(s => s.Value));
        foreach (var series in before.Keys.Where(k => k.StartsWith("ml_feature_window", StringComparison.Ordinal) || k.StartsWith("ml_drift_window", StringComparison.Ordinal)))
        {
            Assert.True(Math.Abs(after[series] - before[series]) <= 1e-9 * Math.Max(1, Math.Abs(before[series])), $"{series}: {after[series]:R} after the restart, {before[series]:R} before");
        }
    }

    private static double? BaselineEvents(MetricsText scrape) =>
        scrape.Find("ml_drift_baseline_events", ("model_name", "fraud"), ("model_version", "v1"));

    /// <summary>Every window series of the scrapes, summed by its labels (without the replica's own).</summary>
    private static Dictionary<string, double> Sum(params MetricsText[] scrapes)
    {
        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var sample in scrapes.SelectMany(scrape => WindowCounts.SelectMany(scrape.All)))
        {
            var key = $"{sample.Name}{{{string.Join(",", sample.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"))}}}";
            sums[key] = sums.GetValueOrDefault(key) + sample.Value;
        }

        return sums;
    }

    private static async Task<List<Label>> SendAsync(SidecarProcess replica, Random random, int count, string idPrefix)
    {
        var batch = new PredictionBatch();
        var labels = new List<Label>();
        for (var i = 0; i < count; i++)
        {
            var predicted = random.NextDouble() < 0.7 ? "legit" : "fraud";
            var e = Events.Classified("fraud", "v1", predicted, Math.Round(0.5 + (random.NextDouble() / 2), 4));
            e.PredictionId = $"{idPrefix}-{i}";
            e.Features["x"] = Math.Round(random.NextDouble() * 10, 4);
            batch.Events.Add(e);
            labels.Add(new Label { PredictionId = e.PredictionId, ActualClass = random.NextDouble() < 0.8 ? predicted : "review" });
        }

        Assert.Equal((ulong)count, (await replica.CreateMonitorClient().RecordPredictionsAsync(batch)).Accepted);
        return labels;
    }

    private static async Task WaitAsync(Func<Task<bool>> done, string what)
    {
        await Eventually.AssertAsync(async () => Assert.True(await done(), $"never: {what}"), TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(100));
    }
}

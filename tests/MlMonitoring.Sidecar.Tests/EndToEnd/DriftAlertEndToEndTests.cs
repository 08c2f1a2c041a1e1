using MlMonitoring.Sidecar.Tests.Infrastructure;
using MlMonitoring.V1;
using Xunit.Abstractions;

namespace MlMonitoring.Sidecar.Tests.EndToEnd;

/// <summary>
/// The drift alerts through the shipped executable and a real Prometheus with the shipped rules: twenty healthy
/// low-traffic versions (30 events in their window, from their baseline's distribution) stay quiet, as the
/// critical values promise, where PSI above 0.25 alone would have fired for many; a version whose feature moved by
/// one standard deviation is caught on 100 events.
/// </summary>
[Trait("Parts", "Real")]
public sealed class DriftAlertEndToEndTests(ITestOutputHelper output)
{
    private const int BaselineSize = 2_000;
    private const int HealthyVersions = 20;

    [Fact]
    public async Task Healthy_low_traffic_versions_stay_quiet_and_a_one_sd_shift_on_100_events_alerts()
    {
        await using var sidecar = await SidecarProcess.StartAsync(new Dictionary<string, string>
        {
            ["Monitoring__Drift__BaselineSize"] = BaselineSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Monitoring__Limits__MaxVersionsPerModel"] = "30",
        });
        var client = sidecar.CreateMonitorClient();
        var random = new Random(2026);
        var versions = Enumerable.Range(0, HealthyVersions).Select(i => $"healthy-{i:00}").Append("shifted").ToArray();
        foreach (var version in versions)
        {
            await SendAsync(client, random, version, BaselineSize, shift: 0);
        }

        foreach (var version in versions)
        {
            await SendAsync(client, random, version, version == "shifted" ? 100 : 30, shift: version == "shifted" ? 1 : 0);
        }

        await using var prometheus = await PrometheusServer.StartAsync(
            [$"127.0.0.1:{sidecar.HttpPort}"], RuleFiles.CopyAsPrometheusConfig(shortenFor: true));

        // Every signal (class, confidence, x, y) of every version has its critical value, simulated once per baseline.
        var at = await prometheus.WaitForRulesAsync("count(model_version_signal:ml_drift_psi_critical:fleet{model_name='lowtraffic'})", versions.Length * 4);
        await prometheus.WaitForNextScrapeAsync();
        await Task.Delay(TimeSpan.FromSeconds(3));

        var alerts = (await prometheus.AlertsAsync())
            .Where(a => a.Name is "MLModelFeatureDrift" or "MLModelPredictionDrift" && a.Labels["model_name"] == "lowtraffic")
            .ToList();
        var healthyAlerting = alerts.Where(a => a.Labels["model_version"] != "shifted").Select(a => a.Labels["model_version"]).Distinct().Count();
        var overThreshold = await prometheus.QueryAsync("model_version_signal:ml_drift_psi:fleet{model_name='lowtraffic', model_version=~'healthy-.*'} > 0.25", at);
        output.WriteLine($"healthy versions with a drift alert: {healthyAlerting} of {HealthyVersions}; signals of healthy versions with PSI > 0.25 (the rule before): {overThreshold.Count} of {HealthyVersions * 4}, in {overThreshold.Select(s => s.Labels["model_version"]).Distinct().Count()} versions");

        // At 0.01 per version and evaluation, 3 or more of 20 alerting has probability about 0.001.
        Assert.InRange(healthyAlerting, 0, 2);
        Assert.True(overThreshold.Count >= 5, $"30 events from the baseline's distribution cross 0.25 often by chance alone; here {overThreshold.Count} signals did");
        var caught = Assert.Single(alerts, a => a.Labels["model_version"] == "shifted");
        Assert.Equal(("MLModelFeatureDrift", "x"), (caught.Name, caught.Labels["feature_name"]));
    }

    private static async Task SendAsync(PredictionMonitor.PredictionMonitorClient client, Random random, string version, int count, double shift)
    {
        for (var sent = 0; sent < count; sent += 500)
        {
            var batch = new PredictionBatch();
            for (var i = sent; i < Math.Min(count, sent + 500); i++)
            {
                var e = Events.Classified("lowtraffic", version, random.NextDouble() < 0.8 ? "legit" : "fraud", 0.5 + (random.NextDouble() / 2));
                e.Features["x"] = Normal(random) + shift;
                e.Features["y"] = Normal(random);
                batch.Events.Add(e);
            }

            Assert.Equal((ulong)batch.Events.Count, (await client.RecordPredictionsAsync(batch)).Accepted);
        }
    }

    private static double Normal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}

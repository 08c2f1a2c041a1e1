using MlMonitoring.Sidecar.Tests.Infrastructure;
using MlMonitoring.V1;
using Xunit.Abstractions;

namespace MlMonitoring.Sidecar.Tests.EndToEnd;

/// <summary>
/// One drift baseline per model version for a fleet of sidecar processes sharing a real redis-server: replicas
/// already running adopt the first one completed, a replica started after a shift compares with it (and sees the
/// shift), and a pin on one replica re-pins all of them. A real Prometheus scraping the three with the project's
/// rules computes the fleet's PSI and JS, equal to numpy and scipy on the union of the replicas' windows.
/// </summary>
[Trait("Parts", "Real")]
public sealed class FleetBaselineEndToEndTests(ITestOutputHelper output)
{
    private const int BaselineSize = 200;

    [Fact]
    public async Task Replicas_share_one_baseline_a_late_replica_sees_the_shift_and_a_pin_on_one_repins_all()
    {
        await using var redis = await RedisServer.StartAsync();
        var settings = SidecarProcess.ReplicaSettings(
            redis.Configuration,
            ("Monitoring__Drift__BaselineSize", BaselineSize.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("Monitoring__Drift__SyncInterval", "00:00:00.200"));
        await using var first = await SidecarProcess.StartAsync(settings);
        await using var second = await SidecarProcess.StartAsync(settings);
        var random = new Random(17);
        // The values of x each replica counted in its drift window (after its baseline), for the reference.
        var windows = new List<double>();

        // The second replica has begun capturing its own baseline when the first completes one: it adopts the first's.
        await SendAsync(second, random, 50, shift: 0);
        await SendAsync(first, random, BaselineSize, shift: 0);
        await WaitForBaselineAsync(first, BaselineSize);
        await WaitForBaselineAsync(second, BaselineSize);
        var fleetBaseline = await BaselineOfAsync(first, random, windows);
        Assert.Equal(fleetBaseline, await BaselineOfAsync(second, random, windows));

        // Feature x shifts by one standard deviation; a third replica starts after it, on the fleet's baseline.
        await using var late = await SidecarProcess.StartAsync(settings);
        windows.AddRange(await SendAsync(late, random, 600, shift: 1));
        windows.AddRange(await SendAsync(first, random, 300, shift: 0));
        var lateStatus = await StatusAsync(late);
        Assert.Equal(fleetBaseline, BaselineCounts(lateStatus));
        Assert.True(FeaturePsi(lateStatus) > 0.25, $"the late replica compares with the fleet's baseline and sees the shift: PSI {FeaturePsi(lateStatus)}");
        Assert.True(FeaturePsi(await StatusAsync(first)) < 0.1, $"unshifted traffic: PSI {FeaturePsi(await StatusAsync(first))}");

        // The fleet's drift of x, by the project's rules in a real Prometheus, against numpy and scipy on the union
        // of the three windows binned on the baseline's edges. It alerts once for the model version.
        await using (var prometheus = await PrometheusServer.StartAsync(
            new[] { first, second, late }.Select(r => $"127.0.0.1:{r.HttpPort}"), RuleFiles.CopyAsPrometheusConfig(shortenFor: true)))
        {
            var x = lateStatus.Drift.Single(d => d.Signal == "feature" && d.FeatureName == "x");
            var reference = await PythonReference.RunAsync("drift_reference.py", new
            {
                binning = new[] { new { edges = x.Edges, values = windows } },
            });
            var union = reference["binning"]![0]!.AsArray().Select(c => (long)c!.GetValue<double>()).ToArray();
            var figures = (await PythonReference.RunAsync("drift_reference.py", new
            {
                signals = new[] { new { baseline = x.BaselineCounts, current = union } },
            }))["signals"]![0]!;
            const string selector = "{model_name='fraud',model_version='v1',signal='feature',feature_name='x'}";
            var at = await prometheus.WaitForRulesAsync($"sum(model_version_bin:ml_drift_window_bin:fleet{selector})", windows.Count);
            for (var bin = 0; bin < union.Length; bin++)
            {
                Assert.Equal(union[bin], await prometheus.QueryOneAsync($"model_version_bin:ml_drift_window_bin:fleet{{model_name='fraud',feature_name='x',bin='{bin}'}}", at));
            }

            var psi = await prometheus.QueryOneAsync($"model_version_signal:ml_drift_psi:fleet{selector}", at);
            var js = await prometheus.QueryOneAsync($"model_version_signal:ml_drift_js:fleet{selector}", at);
            output.WriteLine($"fleet PSI(x) {psi:R}, reference {figures["psi"]}; fleet JS(x) {js:R}, reference {figures["js"]}; per replica PSI(x): late {FeaturePsi(lateStatus):R}");
            Assert.Equal(figures["psi"]!.GetValue<double>(), psi, 1e-9);
            Assert.Equal(figures["js"]!.GetValue<double>(), js, 1e-9);

            // The fleet's quantiles of x, from the histogram over the baseline's percentiles: its counts equal numpy's
            // binning of the union at the same bounds, and each quantile lies within the bucket that holds numpy's.
            var bounds = (await first.ScrapeAsync()).All("ml_feature_window_bucket")
                .Where(b => b.Labels["feature_name"] == "x" && b.Labels["le"] != "+Inf")
                .Select(b => double.Parse(b.Labels["le"], System.Globalization.CultureInfo.InvariantCulture)).Order().ToArray();
            Assert.True(bounds.Length >= 10, $"the baseline's minimum, percentiles and maximum: {string.Join(", ", bounds)}");
            var quantileReference = await PythonReference.RunAsync("drift_reference.py", new
            {
                binning = new[] { new { edges = bounds, values = windows } },
                quantiles = new { values = windows, q = new[] { 0.5, 0.95, 0.99 } },
            });
            var perBucket = quantileReference["binning"]![0]!.AsArray().Select(c => (long)c!.GetValue<double>()).ToArray();
            long cumulative = 0;
            for (var bucket = 0; bucket < perBucket.Length; bucket++)
            {
                cumulative += perBucket[bucket];
                var le = bucket < bounds.Length ? bounds[bucket].ToString("R", System.Globalization.CultureInfo.InvariantCulture) : "+Inf";
                Assert.Equal(cumulative, await prometheus.QueryOneAsync($"sum(ml_feature_window_bucket{{model_name='fraud',feature_name='x',le='{le}'}})", at));
            }

            foreach (var (q, index) in new[] { ("0.5", 0), ("0.95", 1), ("0.99", 2) })
            {
                var expected = quantileReference["quantiles"]![index]!.GetValue<double>();
                var fleet = await prometheus.QueryOneAsync($"model_version_feature:ml_feature_quantile:fleet{{model_name='fraud',feature_name='x',quantile='{q}'}}", at);
                var bucket = Array.FindIndex(bounds, b => expected <= b);
                output.WriteLine($"fleet p{q}(x) {fleet:R}, numpy {expected:R}, bucket {(bucket <= 0 ? "open" : $"({bounds[bucket - 1]}, {bounds[bucket]}]")}");
                if (bucket > 0)
                {
                    Assert.InRange(fleet, bounds[bucket - 1], bounds[bucket]);
                }
                else if (bucket < 0)
                {
                    // Above the baseline's maximum: all a histogram can say is that the quantile lies beyond it.
                    Assert.Equal(bounds[^1], fleet);
                }
            }

            // The estimated accuracy of the fleet: the mean confidence of every prediction of every replica.
            Assert.Equal(_confidences.Average(), await prometheus.QueryOneAsync("model_version:ml_model_estimated_accuracy:fleet{model_name='fraud'}", at), 1e-9);

            var alerts = await prometheus.WaitForFiringAsync("MLModelFeatureDrift");
            var alert = Assert.Single(alerts);
            Assert.Equal(("fraud", "v1", "x"), (alert.Labels["model_name"], alert.Labels["model_version"], alert.Labels["feature_name"]));
        }

        // A pin on the second replica: every replica captures again, and the one that completes it sets it for all.
        Assert.Equal(100UL, (await second.CreateMonitorClient().PinBaselineAsync(new PinBaselineRequest { ModelName = "fraud", ModelVersion = "v1", BaselineSize = 100 })).BaselineSize);
        foreach (var replica in new[] { first, late })
        {
            await WaitForAsync(replica, s => !s.BaselinePinned, "captures again after the pin on another replica");
        }

        await SendAsync(late, random, 100, shift: 1);
        await WaitForBaselineAsync(late, 100);
        var repinned = await BaselineOfAsync(late, random, []);
        Assert.NotEqual(fleetBaseline, repinned);
        foreach (var replica in new[] { first, second })
        {
            await WaitForBaselineAsync(replica, 100);
            Assert.Equal(repinned, await BaselineOfAsync(replica, random, []));
        }

        // On the new baseline the shifted traffic is the norm: the late replica no longer reports drift.
        await SendAsync(late, random, 300, shift: 1);
        Assert.True(FeaturePsi(await StatusAsync(late)) < 0.25);
    }

    /// <summary>Every confidence sent to any replica: the drift windows' (an hour) hold them all.</summary>
    private readonly List<double> _confidences = [];

    private async Task<List<double>> SendAsync(SidecarProcess replica, Random random, int count, double shift)
    {
        var values = new List<double>();
        var batch = new PredictionBatch();
        for (var i = 0; i < count; i++)
        {
            var e = Events.Classified("fraud", "v1", random.NextDouble() < 0.8 ? "legit" : "fraud", 0.5 + (random.NextDouble() / 2));
            e.Features["x"] = Normal(random) + shift;
            values.Add(e.Features["x"]);
            _confidences.Add(e.Classification.Confidence);
            batch.Events.Add(e);
        }

        Assert.Equal((ulong)count, (await replica.CreateMonitorClient().RecordPredictionsAsync(batch)).Accepted);
        return values;
    }

    private static double Normal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    private static Task<ModelStatus> StatusAsync(SidecarProcess replica) =>
        replica.CreateMonitorClient().GetModelStatusAsync(new ModelStatusRequest { ModelName = "fraud", ModelVersion = "v1" }).ResponseAsync;

    private static Task<ModelStatus> WaitForBaselineAsync(SidecarProcess replica, int size) =>
        WaitForAsync(replica, s => s.BaselinePinned && s.BaselineEvents == (ulong)size, $"a baseline of {size} events");

    private static Task<ModelStatus> WaitForAsync(SidecarProcess replica, Func<ModelStatus, bool> done, string what) =>
        Eventually.ReturnsAsync(
            async () =>
            {
                var status = await StatusAsync(replica);
                Assert.True(done(status), $"replica on port {replica.GrpcPort} never reached {what}: {status}");
                return status;
            },
            TimeSpan.FromSeconds(20),
            TimeSpan.FromMilliseconds(100));

    /// <summary>A replica's baseline, as it reports it once it has traffic to compare with it.</summary>
    private async Task<string> BaselineOfAsync(SidecarProcess replica, Random random, List<double> window)
    {
        window.AddRange(await SendAsync(replica, random, 10, shift: 0));
        return BaselineCounts(await StatusAsync(replica));
    }

    /// <summary>The baseline's bins and counts of every compared signal: equal on two replicas only if it is the same baseline.</summary>
    private static string BaselineCounts(ModelStatus status) =>
        string.Join(" | ", status.Drift.Select(s => $"{s.Signal}/{s.FeatureName}: {string.Join(",", s.Edges)} {string.Join(",", s.Categories)} = {string.Join(",", s.BaselineCounts)}"));

    private static double FeaturePsi(ModelStatus status) => status.Drift.Single(s => s.Signal == "feature" && s.FeatureName == "x").Psi;
}

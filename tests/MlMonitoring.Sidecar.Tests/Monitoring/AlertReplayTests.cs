using System.Globalization;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Drift;
using Xunit.Abstractions;
using YamlDotNet.RepresentationModel;

namespace MlMonitoring.Sidecar.Tests.Monitoring;

/// <summary>
/// False alerts per healthy model version per 30 days, at default settings: the shipped rules' conditions, their
/// <c>for:</c> and <c>keep_firing_for:</c>, replayed minute by minute over simulated traffic (numpy), with the
/// sidecar's windows (drift: an hour in 5-minute slots; labels: 7 days in 6-hour slots) and, for drift, the
/// sidecar's own critical values. A month's rate is what an on-call engineer lives with, not a rate per evaluation.
/// </summary>
[Trait("Parts", "Real")]
public sealed class AlertReplayTests(ITestOutputHelper output)
{
    private const int Versions = 16;
    private const int SignalsPerVersion = 12;

    /// <summary>The defaults a user gets: read from the options class, not restated here.</summary>
    private static readonly DriftOptions Defaults = new();

    /// <summary>
    /// The sidecar's critical values for the simulated versions' baselines (numpy), at its default level shared among
    /// each version's signals: computed once for every traffic level.
    /// </summary>
    private static readonly Lazy<Task<double[][][]>> DriftFactors = new(async () =>
    {
        var baselines = (await PythonReference.RunAsync("alert_replay_reference.py", new
        {
            step = "baselines",
            seed = 11,
            versions = Versions,
            signals = SignalsPerVersion,
            baseline_events = Defaults.BaselineSize,
        }))["baselines"]!.AsArray().Select(v => v!.AsArray().Select(s => s!.AsArray().Select(c => c!.GetValue<long>()).ToArray()).ToArray()).ToArray();
        var alpha = Defaults.FalseAlarmRate / SignalsPerVersion;
        var factors = baselines.Select(v => new double[v.Length][]).ToArray();
        Parallel.For(0, Versions * SignalsPerVersion, i => factors[i / SignalsPerVersion][i % SignalsPerVersion] = PsiCriticalValues.Factors(baselines[i / SignalsPerVersion][i % SignalsPerVersion], alpha));
        return factors;
    });

    [Theory]
    [InlineData(20)]
    [InlineData(60)]
    [InlineData(300)]
    [InlineData(3_000)]
    public async Task A_healthy_version_raises_at_most_one_drift_alert_a_month(int eventsPerHour)
    {
        var rule = Rule("MLModelFeatureDrift");
        var factors = await DriftFactors.Value;

        async Task<(double Mean, double Max)> ReplayAsync(double[][][] critical)
        {
            var result = await PythonReference.RunAsync("alert_replay_reference.py", new
            {
                step = "drift",
                seed = 11,
                versions = Versions,
                signals = SignalsPerVersion,
                baseline_events = Defaults.BaselineSize,
                factors = critical,
                grid = PsiCriticalValues.WindowGrid,
                events_per_hour = eventsPerHour,
                threshold = 0.25,
                for_minutes = rule.ForMinutes,
                keep_firing_minutes = rule.KeepFiringMinutes,
                window_minutes = 60,
                slot_minutes = 5,
                days = 30,
            });
            return (result["alerts_per_month"]!.GetValue<double>(), result["max_alerts_per_month"]!.GetValue<double>());
        }

        var shipped = await ReplayAsync(factors);
        // Before critical values: PSI > 0.25 alone (a critical value of zero), same windows and `for:`.
        var thresholdOnly = await ReplayAsync([.. factors.Select(v => v.Select(s => new double[s.Length]).ToArray())]);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{eventsPerHour} events/h, {SignalsPerVersion} signals, for {rule.ForMinutes}m: {shipped.Mean:F2} false drift alerts per version per 30 days (most {shipped.Max}); PSI > 0.25 alone: {thresholdOnly.Mean:F1} (most {thresholdOnly.Max})"));
        Assert.True(shipped.Mean <= 1, $"{shipped.Mean} false drift alerts a month at {eventsPerHour} events an hour");
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(2)]
    [InlineData(10)]
    [InlineData(100)]
    public async Task A_version_exactly_at_the_accuracy_target_raises_at_most_one_accuracy_alert_a_month(double labelsPerHour)
    {
        var rule = Rule("MLModelAccuracyLow");
        var result = await PythonReference.RunAsync("alert_replay_reference.py", new
        {
            step = "accuracy",
            seed = 5,
            versions = 40,
            labels_per_hour = labelsPerHour,
            accuracy = 0.85,
            target = 0.85,
            evidence = Math.Log(20),
            for_minutes = rule.ForMinutes,
            keep_firing_minutes = rule.KeepFiringMinutes,
            window_minutes = 7 * 24 * 60,
            slot_minutes = 6 * 60,
            days = 30,
        });
        var mean = result["alerts_per_month"]!.GetValue<double>();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{labelsPerHour} labels/h at accuracy 0.85, for {rule.ForMinutes}m, keep firing {rule.KeepFiringMinutes}m: {mean:F2} false alerts per version per 30 days (most {result["max_alerts_per_month"]}); condition held at {result["held"]!.GetValue<double>():P2} of evaluations"));
        Assert.True(mean <= 1, $"{mean} false accuracy alerts a month at {labelsPerHour} labels an hour");
    }

    /// <summary>
    /// The alerts on a share of predictions, at a healthy share: MLModelHighErrorRate at its own 1% line (the worst a
    /// healthy model may do) and MLModelErrorBudgetBurn at the 0.1% a 99.9% SLO allows (at its 1.44% line a model
    /// burns its budget 14.4 times too fast, which the alert is meant to say); MLModelHighLatency with exactly 1%
    /// slower than 500 ms (p99 at 500 ms), MLModelPredictionSkew with one class at exactly 95%, MLModelLowConfidence
    /// with exactly 25% at or under 0.6 (its 25th percentile at 0.6).
    /// </summary>
    [Theory]
    [InlineData("MLModelHighErrorRate", 0.01, 0.01, "ml_prediction_errors_total[5m]", 5, 1)]
    [InlineData("MLModelHighErrorRate", 0.01, 0.01, "ml_prediction_errors_total[5m]", 5, 6)]
    [InlineData("MLModelHighErrorRate", 0.01, 0.01, "ml_prediction_errors_total[5m]", 5, 60)]
    [InlineData("MLModelHighErrorRate", 0.01, 0.01, "ml_prediction_errors_total[5m]", 5, 600)]
    [InlineData("MLModelErrorBudgetBurn", 0.0144, 0.001, "ml_prediction_errors_total[1h]", 60, 1)]
    [InlineData("MLModelErrorBudgetBurn", 0.0144, 0.001, "ml_prediction_errors_total[1h]", 60, 60)]
    [InlineData("MLModelErrorBudgetBurn", 0.0144, 0.001, "ml_prediction_errors_total[1h]", 60, 600)]
    [InlineData("MLModelHighLatency", 0.01, 0.01, "ml_prediction_latency_seconds_bucket[5m]", 5, 6)]
    [InlineData("MLModelHighLatency", 0.01, 0.01, "ml_prediction_latency_seconds_bucket[5m]", 5, 600)]
    [InlineData("MLModelPredictionSkew", 0.95, 0.95, "ml_prediction_class_total[1h]", 60, 1)]
    [InlineData("MLModelPredictionSkew", 0.95, 0.95, "ml_prediction_class_total[1h]", 60, 60)]
    [InlineData("MLModelLowConfidence", 0.25, 0.25, "ml_prediction_confidence_bucket[1h]", 60, 1)]
    [InlineData("MLModelLowConfidence", 0.25, 0.25, "ml_prediction_confidence_bucket[1h]", 60, 60)]
    public async Task A_healthy_model_raises_at_most_one_alert_on_a_share_a_month(string alert, double line, double healthy, string series, int windowMinutes, int perMinute)
    {
        var rule = Rule(alert);
        var rules = await File.ReadAllTextAsync(Repository.PathOf("monitoring", "prometheus", "rules", "ml-model-alerts.yaml"));
        Assert.Contains(series, rules, StringComparison.Ordinal);
        object[] clauses = [new { threshold = line, window_minutes = windowMinutes }];
        Task<double> ReplayAsync(double evidence) => ReplayShareAsync(seed: 3, perMinute, healthy, clauses, evidence, rule);

        var shipped = await ReplayAsync(Math.Log(20));
        var before = await ReplayAsync(0);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{alert} (line {line:P2}), {perMinute} predictions/min at {healthy:P2}, for {rule.ForMinutes}m: {shipped:F2} false alerts a month; the share alone: {before:F1}"));
        Assert.True(shipped <= 1, $"{shipped} false {alert} alerts a month at {perMinute} predictions a minute");
    }

    /// <summary>
    /// The generated SLO burn-rate alerts (slo-generated.yaml, availability at 99.9%) for a model inside its budget:
    /// 0.1% of requests failing. Each alert ORs its two clauses, a long and a short window over the same threshold.
    /// </summary>
    [Theory]
    [InlineData("MLModelSLOBurnRateCritical", 1)]
    [InlineData("MLModelSLOBurnRateCritical", 60)]
    [InlineData("MLModelSLOBurnRateWarning", 1)]
    [InlineData("MLModelSLOBurnRateWarning", 60)]
    public async Task A_model_inside_its_error_budget_raises_at_most_one_slo_burn_alert_a_month(string alert, int perMinute)
    {
        var rule = Rule(alert, "slo-generated.yaml");
        var rules = await File.ReadAllTextAsync(Repository.PathOf("monitoring", "prometheus", "rules", "slo-generated.yaml"));
        object[] clauses = alert == "MLModelSLOBurnRateCritical"
            ? [new { threshold = 0.0144, window_minutes = 60, short_window_minutes = 5 }, new { threshold = 0.006, window_minutes = 360, short_window_minutes = 30 }]
            : [new { threshold = 0.003, window_minutes = 1440, short_window_minutes = 120 }, new { threshold = 0.001, window_minutes = 4320, short_window_minutes = 360 }];
        Assert.Contains("ratio_rate1h{model_name=\"fraud-detector\", slo=\"availability\"} > 0.0144", rules, StringComparison.Ordinal);
        Assert.Contains("ratio_rate3d{model_name=\"fraud-detector\", slo=\"availability\"} > 0.001", rules, StringComparison.Ordinal);
        Task<double> ReplayAsync(double evidence) => ReplayShareAsync(seed: 4, perMinute, share: 0.001, clauses, evidence, rule);

        var shipped = await ReplayAsync(Math.Log(20));
        var before = await ReplayAsync(0);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{alert}, {perMinute} requests/min failing 0.1% (a 99.9% SLO), keep firing {rule.KeepFiringMinutes}m: {shipped:F2} false alerts a month; the ratios alone: {before:F1}"));
        Assert.True(shipped <= 1, $"{shipped} false {alert} alerts a month at {perMinute} requests a minute");
    }

    /// <summary>False alerts a month of an alert on a share of predictions, its clauses ORed (alert_replay_reference.py, step "share").</summary>
    private static async Task<double> ReplayShareAsync(int seed, int perMinute, double share, object[] clauses, double evidence, (int ForMinutes, int KeepFiringMinutes) rule) =>
        (await PythonReference.RunAsync("alert_replay_reference.py", new
        {
            step = "share",
            seed,
            versions = 10,
            requests_per_minute = perMinute,
            share,
            clauses,
            evidence,
            for_minutes = rule.ForMinutes,
            keep_firing_minutes = rule.KeepFiringMinutes,
            days = 30,
        }))["alerts_per_month"]!.GetValue<double>();

    private static (int ForMinutes, int KeepFiringMinutes) Rule(string alert, string file = "ml-model-alerts.yaml")
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(Repository.PathOf("monitoring", "prometheus", "rules", file)))
        {
            yaml.Load(reader);
        }

        var rule = ((YamlMappingNode)yaml.Documents[0].RootNode)["groups"].AllNodes.OfType<YamlMappingNode>()
            .First(n => n.Children.TryGetValue("alert", out var name) && name.ToString() == alert);
        return (Minutes(rule, "for"), Minutes(rule, "keep_firing_for"));
    }

    private static int Minutes(YamlMappingNode rule, string key)
    {
        if (!rule.Children.TryGetValue(key, out var value))
        {
            return 0;
        }

        var text = value.ToString();
        var amount = int.Parse(text[..^1], CultureInfo.InvariantCulture);
        return text[^1] switch
        {
            'm' => amount,
            'h' => amount * 60,
            _ => throw new InvalidOperationException($"{key}: {text}"),
        };
    }
}

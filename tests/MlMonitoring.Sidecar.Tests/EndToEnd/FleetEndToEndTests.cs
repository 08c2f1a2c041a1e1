using System.Text.Json.Nodes;
using MlMonitoring.Sidecar.Tests.Infrastructure;
using MlMonitoring.V1;
using Xunit.Abstractions;
using Label = MlMonitoring.V1.GroundTruth;

namespace MlMonitoring.Sidecar.Tests.EndToEnd;

/// <summary>
/// A model version served by three replicas, each with its sidecar, sharing a real redis-server, all scraped by one
/// real Prometheus with the project's rule files: the fleet figures equal those computed by scikit-learn and numpy
/// on the union of the replicas' traffic, and the accuracy alert fires once for the model version.
/// </summary>
[Trait("Parts", "Real")]
public sealed class FleetEndToEndTests(ITestOutputHelper output)
{
    private static readonly string[] Classes = ["fraud", "legit", "review"];

    [Fact]
    public async Task Three_replicas_give_the_quality_and_feature_figures_of_their_union_and_alert_once()
    {
        await using var redis = await RedisServer.StartAsync();
        // Prometheus scrapes every second here: a stopped replica's series are stale within 2 s, the handover
        // waits 3 s before a replica that stays adopts its windows.
        var settings = SidecarProcess.ReplicaSettings(
            redis.Configuration, ("Monitoring__GroundTruth__Window", "1.00:00:00"), ("Monitoring__FeatureWindow", "01:00:00"),
            ("Monitoring__Handover__AdoptAfter", "00:00:03"), ("Monitoring__Handover__PollInterval", "00:00:00.200"));
        await using var first = await SidecarProcess.StartAsync(settings);
        await using var second = await SidecarProcess.StartAsync(settings);
        await using var third = await SidecarProcess.StartAsync(settings);
        SidecarProcess[] replicas = [first, second, third];
        await using var prometheus = await PrometheusServer.StartAsync(
            replicas.Select(r => $"127.0.0.1:{r.HttpPort}"), RuleFiles.CopyAsPrometheusConfig(shortenFor: true));

        // Uneven traffic, as a Service's load balancing gives it: 50 %, 20 % and 30 % of the predictions.
        var random = new Random(14);
        var batches = replicas.Select(_ => new PredictionBatch()).ToArray();
        var yTrue = new List<string>();
        var yPred = new List<string>();
        var confidences = new List<double>();
        var x = new List<double>();
        var amount = new List<double>();
        var vTrue = new List<double>();
        var vPred = new List<double>();
        var labels = new List<Label>();
        for (var i = 0; i < 900; i++)
        {
            var actual = Classes[random.Next(Classes.Length)];
            var predicted = random.NextDouble() < 0.7 ? actual : Classes[random.Next(Classes.Length)];
            var confidence = Math.Round(0.34 + (random.NextDouble() * 0.66), 6);
            var e = Events.Classified("fraud-detector", "v1", predicted, confidence);
            e.PredictionId = $"c-{i}";
            var xValue = Math.Round(random.NextDouble() * 4 - 1, 6);
            var amountValue = Math.Round(random.NextDouble() * 1000, 3);
            e.Features["x"] = xValue;
            e.Features["amount"] = amountValue;
            batches[Replica(random)].Events.Add(e);
            yTrue.Add(actual);
            yPred.Add(predicted);
            confidences.Add(confidence);
            x.Add(xValue);
            amount.Add(amountValue);
            labels.Add(new Label { PredictionId = e.PredictionId, ActualClass = actual });
        }

        for (var i = 0; i < 300; i++)
        {
            var predicted = Math.Round(random.NextDouble() * 100, 4);
            var actual = Math.Round(predicted + (random.NextDouble() * 20) - 10, 4);
            var e = Events.Regressed("price", "v2", predicted);
            e.PredictionId = $"r-{i}";
            batches[Replica(random)].Events.Add(e);
            vPred.Add(predicted);
            vTrue.Add(actual);
            labels.Add(new Label { PredictionId = e.PredictionId, ActualValue = actual });
        }

        for (var r = 0; r < replicas.Length; r++)
        {
            Assert.Equal((ulong)batches[r].Events.Count, (await replicas[r].CreateMonitorClient().RecordPredictionsAsync(batches[r])).Accepted);
        }

        // Labels reach whichever replica the Service picks, in batches of 50: most hold no prediction of theirs.
        foreach (var chunk in labels.OrderBy(_ => random.Next()).Chunk(50))
        {
            var response = await replicas[random.Next(replicas.Length)].CreateMonitorClient()
                .RecordGroundTruthAsync(new GroundTruthBatch { Labels = { chunk } });
            Assert.Equal(((ulong)chunk.Length, 0UL), (response.Accepted, response.Rejected));
        }

        // Business outcomes of the fraud predictions, also sent to whichever replica: attributed through the shared
        // store to the version of their prediction, wherever it was made.
        var outcomes = Enumerable.Range(0, 900).Where(i => i % 3 == 0)
            .Select(i => new Outcome { PredictionId = $"c-{i}", Kind = "chargeback_avoided", Value = i % 7 }).ToList();
        foreach (var chunk in outcomes.Chunk(50))
        {
            var response = await replicas[random.Next(replicas.Length)].CreateMonitorClient().RecordOutcomesAsync(new OutcomeBatch { Outcomes = { chunk } });
            Assert.Equal(((ulong)chunk.Length, 0UL), (response.Accepted, response.Rejected));
        }

        var at = await prometheus.WaitForRulesAsync("sum(model_version:ml_ground_truth_sample_size:fleet)", 1200);
        var reference = await PythonReference.RunAsync("quality_reference.py", new
        {
            classification = new { y_true = yTrue, y_pred = yPred, confidence = confidences },
            regression = new { y_true = vTrue, y_pred = vPred },
            features = new Dictionary<string, List<double>> { ["x"] = x, ["amount"] = amount },
        });

        // Every label joined exactly once, wherever it arrived.
        Assert.Equal(900, await prometheus.QueryOneAsync("model_version:ml_ground_truth_sample_size:fleet{model_name='fraud-detector'}", at));
        Assert.Equal(300, await prometheus.QueryOneAsync("model_version:ml_ground_truth_sample_size:fleet{model_name='price'}", at));
        Assert.Equal(0, await prometheus.QueryOneAsync("sum(ml_ground_truth_unmatched_total) or vector(0)", at));
        Assert.Equal(outcomes.Count, await prometheus.QueryOneAsync("sum by (model_version) (ml_business_outcomes_total{model_name='fraud-detector'})", at));
        Assert.Equal(outcomes.Sum(o => o.Value), await prometheus.QueryOneAsync("sum by (model_version) (ml_business_value_total{model_name='fraud-detector'})", at));
        Assert.Equal(0, await prometheus.QueryOneAsync("sum(ml_business_outcomes_unattributed_total) or vector(0)", at));

        var classification = reference["classification"]!;
        await AssertFleetFiguresAsync(prometheus, at, reference);

        // A replica's own status says its figures are one replica's share.
        var status = await second.CreateMonitorClient().GetModelStatusAsync(new ModelStatusRequest { ModelName = "fraud-detector", ModelVersion = "v1" });
        Assert.Equal(FigureScope.Replica, status.Scope);
        Assert.True(status.SampleSize < 900, $"one replica's share, not the fleet's 900: {status.SampleSize}");

        // The dashboard's panels of these figures: one series per model version (and class or feature), not per pod.
        foreach (var query in DashboardQueries())
        {
            var series = await prometheus.QueryAsync(query, at);
            Assert.All(series, s => Assert.False(s.Labels.ContainsKey("instance"), $"{query} has a series per replica"));
        }

        // The fleet's accuracy is below 0.85 with 900 labels: MLModelAccuracyLow fires once for the model version.
        if (Number(classification["accuracy"]) < 0.85)
        {
            var alerts = await prometheus.WaitForFiringAsync("MLModelAccuracyLow");
            var alert = Assert.Single(alerts);
            Assert.Equal(("fraud-detector", "v1"), (alert.Labels["model_name"], alert.Labels["model_version"]));
        }
        else
        {
            Assert.Fail($"the traffic was meant to give an accuracy below 0.85, not {classification["accuracy"]}");
        }

        // A replica stops (scaled down) and hands its windows over through the shared state: once its series are
        // stale, a replica that stays adopts them, and the fleet's figures are again those of all the traffic. Meanwhile
        // they lack the stopped replica's share, and never count it twice.
        var thirdJoined = (await third.ScrapeAsync()).Value("ml_ground_truth_sample_size", ("model_name", "fraud-detector"), ("model_version", "v1"));
        Assert.InRange(thirdJoined, 1, 899);
        Assert.Equal(0, await third.Process.TerminateAsync(TimeSpan.FromSeconds(10)));
        var seen = new List<double>();
        var adopted = await Eventually.UntilAsync(
            async () =>
            {
                seen.Add((await prometheus.QueryAsync("model_version:ml_ground_truth_sample_size:fleet{model_name='fraud-detector'}")).Single().Value);
                return (await Task.WhenAll(first.ScrapeAsync(), second.ScrapeAsync())).Sum(scrape => scrape.Find("ml_sidecar_windows_adopted_total") ?? 0);
            },
            adopted => adopted > 0 && seen[^1] == 900,
            TimeSpan.FromSeconds(30),
            TimeSpan.FromMilliseconds(250));

        output.WriteLine($"replica stopped: it had joined {thirdJoined} of 900 labels; the fleet sample size went through {string.Join(", ", seen.Distinct())}");
        Assert.All(seen, size => Assert.True(size == 900 || size == 900 - thirdJoined, $"the fleet's sample size was {size}"));
        Assert.Equal(900, seen[^1]);
        // Both model versions it served (fraud-detector v1 and price v2), adopted by one replica that stays.
        Assert.Equal(2, adopted);

        at = await prometheus.WaitForRulesAsync("sum(model_version:ml_ground_truth_sample_size:fleet)", 1200, targetsDown: 1);
        await AssertFleetFiguresAsync(prometheus, at, reference);
    }

    /// <summary>The fleet's quality and feature figures, by the project's rules, equal the reference on the union of the traffic.</summary>
    private async Task AssertFleetFiguresAsync(PrometheusServer prometheus, DateTimeOffset at, System.Text.Json.Nodes.JsonNode reference)
    {
        var classification = reference["classification"]!;
        const string fraud = "{model_name='fraud-detector',model_version='v1'}";
        await CompareAsync(prometheus, $"model_version:ml_model_accuracy:fleet{fraud}", at, Number(classification["accuracy"]), 1e-9);
        await CompareAsync(prometheus, $"model_version:ml_model_precision_macro:fleet{fraud}", at, Number(classification["precision_macro"]), 1e-9);
        await CompareAsync(prometheus, $"model_version:ml_model_recall_macro:fleet{fraud}", at, Number(classification["recall_macro"]), 1e-9);
        await CompareAsync(prometheus, $"model_version:ml_model_f1_macro:fleet{fraud}", at, Number(classification["f1_macro"]), 1e-9);
        // The shared state keeps a prediction's confidence as a float32 (4 bytes per pending prediction, not 8): each
        // is off by at most 2^-24 relative, so the calibration error, an average of |correct - confidence| over
        // bins, is off by at most 2^-24 ≈ 6e-8.
        await CompareAsync(prometheus, $"model_version:ml_model_calibration_error:fleet{fraud}", at, Number(classification["calibration_error"]), Math.Pow(2, -24));
        foreach (var (name, figures) in classification["classes"]!.AsObject())
        {
            var selector = $"{{model_name='fraud-detector',class='{name}'}}";
            await CompareAsync(prometheus, $"model_version_class:ml_model_precision:fleet{selector}", at, Number(figures!["precision"]), 1e-9);
            await CompareAsync(prometheus, $"model_version_class:ml_model_recall:fleet{selector}", at, Number(figures["recall"]), 1e-9);
            await CompareAsync(prometheus, $"model_version_class:ml_model_f1:fleet{selector}", at, Number(figures["f1"]), 1e-9);
        }

        var regression = reference["regression"]!;
        await CompareAsync(prometheus, "model_version:ml_model_mae:fleet{model_name='price'}", at, Number(regression["mae"]), 1e-9);
        await CompareAsync(prometheus, "model_version:ml_model_rmse:fleet{model_name='price'}", at, Number(regression["rmse"]), 1e-9);

        foreach (var feature in new[] { "x", "amount" })
        {
            var expected = reference["features"]![feature]!;
            var selector = $"{{model_name='fraud-detector',feature_name='{feature}'}}";
            Assert.Equal(900, await prometheus.QueryOneAsync($"model_version_feature:ml_feature_window_values:fleet{selector}", at));
            await CompareAsync(prometheus, $"model_version_feature:ml_feature_mean:fleet{selector}", at, Number(expected["mean"]), Relative(Number(expected["mean"])));
            await CompareAsync(prometheus, $"model_version_feature:ml_feature_std:fleet{selector}", at, Number(expected["std"]), Relative(Number(expected["std"])));
        }
    }

    /// <summary>Asserts a fleet figure equals its reference within <paramref name="tolerance"/>, and says both.</summary>
    private async Task CompareAsync(PrometheusServer prometheus, string promql, DateTimeOffset at, double expected, double tolerance)
    {
        var actual = await prometheus.QueryOneAsync(promql, at);
        output.WriteLine($"{promql}: fleet {actual:R}, reference {expected:R}, difference {Math.Abs(actual - expected):G3}");
        Assert.Equal(expected, actual, tolerance);
    }

    /// <summary>50 %, 20 %, 30 %.</summary>
    private static int Replica(Random random) => random.NextDouble() switch
    {
        < 0.5 => 0,
        < 0.7 => 1,
        _ => 2,
    };

    /// <summary>1e-9 relative, at least 1e-9: the sums of a thousand values near 500 carry their rounding.</summary>
    private static double Relative(double expected) => Math.Max(1e-9, Math.Abs(expected) * 1e-9);

    private static double Number(JsonNode? node) => node!.GetValue<double>();

    /// <summary>The dashboard's queries that read the fleet rules, with the template variables matching everything.</summary>
    private static IEnumerable<string> DashboardQueries()
    {
        var dashboard = JsonNode.Parse(File.ReadAllText(Repository.PathOf("monitoring", "grafana", "ml-model-monitoring.json")))!;
        return dashboard["panels"]!.AsArray()
            .SelectMany(p => p!["targets"]?.AsArray() ?? [])
            .Select(t => (string)t!["expr"]!)
            .Where(e => e.Contains(":fleet", StringComparison.Ordinal))
            .Select(e => e.Replace("$model_name", ".+", StringComparison.Ordinal).Replace("$model_version", ".+", StringComparison.Ordinal));
    }
}

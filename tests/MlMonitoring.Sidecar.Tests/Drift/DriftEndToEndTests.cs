using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using MlMonitoring.Sidecar.Tests.Infrastructure;
using MlMonitoring.V1;
using Label = MlMonitoring.V1.GroundTruth;

namespace MlMonitoring.Sidecar.Tests.Drift;

/// <summary>Drift, profiles and label-free quality through the real gRPC service, checked with numpy and scipy.</summary>
[Trait("Parts", "Real")]
public sealed class DriftEndToEndTests : IDisposable
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 7, 1, 9, 0, 0, TimeSpan.Zero));
    private readonly SidecarFactory _sidecar;
    private readonly PredictionMonitor.PredictionMonitorClient _client;

    public DriftEndToEndTests()
    {
        _sidecar = new SidecarFactory(
            ("Monitoring:Drift:BaselineSize", "10000"),
            ("Monitoring:FeatureWindow", "01:00:00"))
        {
            Clock = _clock,
        };
        _client = _sidecar.CreateMonitorClient();
    }

    public void Dispose() => _sidecar.Dispose();

    [Fact]
    public async Task A_class_mix_moving_from_50_50_to_90_10_gives_the_reference_psi_while_unchanged_features_stay_quiet()
    {
        var random = new Random(1);
        var currentX = new List<double>();
        // The mixes are exact (alternating), so the expected PSI is that of the two distributions themselves.
        await SendAsync(10_000, i => Event("ab", i % 2 == 0 ? "a" : "b", random, x: Normal(random), amount: null));
        await SendAsync(20_000, i =>
        {
            var x = Normal(random);
            currentX.Add(x);
            return Event("ab", i % 10 == 0 ? "b" : "a", random, x, amount: null);
        });

        var status = await _client.GetModelStatusAsync(new ModelStatusRequest { ModelName = "ab", ModelVersion = "v1" });
        Assert.True(status.BaselinePinned);
        Assert.Equal(10_000UL, status.BaselineEvents);
        var classes = status.Drift.Single(s => s.Signal == "class");
        Assert.Equal(["a", "b"], classes.Categories);
        Assert.Equal(10_000UL, classes.BaselineCounts.Aggregate(0UL, (a, b) => a + b));
        Assert.Equal(20_000UL, classes.CurrentCounts.Aggregate(0UL, (a, b) => a + b));
        // Within 1% of the PSI of the two true distributions, 0.4 ln 1.8 + 0.4 ln 5 = 0.8789.
        var truePsi = (0.4 * Math.Log(1.8)) + (0.4 * Math.Log(5));
        Assert.InRange(classes.Psi, truePsi * 0.99, truePsi * 1.01);

        var feature = status.Drift.Single(s => s.Signal == "feature" && s.FeatureName == "x");
        Assert.Equal(10, feature.BaselineCounts.Count);
        Assert.True(feature.Psi < 0.02, $"unchanged feature PSI {feature.Psi}");

        var reference = await PythonReference.RunAsync("drift_reference.py", new
        {
            signals = new[] { classes, feature }.Select(s => new { baseline = s.BaselineCounts, current = s.CurrentCounts }),
            binning = new[] { new { edges = feature.Edges, values = currentX } },
        });
        // The sidecar's counts are the raw values binned at its edges…
        Assert.Equal(reference["binning"]![0]!.AsArray().Select(c => c!.GetValue<ulong>()), feature.CurrentCounts);
        // …and its divergences are numpy's and scipy's on those bins.
        Assert.Equal(Number(reference["signals"]![0]!["psi"]), classes.Psi, 1e-9);
        Assert.Equal(Number(reference["signals"]![0]!["js"]), classes.Js, 1e-9);
        Assert.Equal(Number(reference["signals"]![1]!["psi"]), feature.Psi, 1e-9);
        Assert.Equal(Number(reference["signals"]![1]!["js"]), feature.Js, 1e-9);

        var metrics = await _sidecar.ScrapeAsync();
        (string, string)[] model = [("model_name", "ab"), ("model_version", "v1")];
        Assert.Equal(classes.Psi, metrics.Value("ml_prediction_drift", [.. model, ("signal", "class"), ("method", "psi")]));
        Assert.Equal(classes.Js, metrics.Value("ml_prediction_drift", [.. model, ("signal", "class"), ("method", "js")]));
        Assert.NotNull(metrics.Find("ml_prediction_drift", [.. model, ("signal", "confidence"), ("method", "psi")]));
        Assert.Equal(feature.Psi, metrics.Value("ml_feature_drift", [.. model, ("feature_name", "x"), ("method", "psi")]));
        Assert.Equal(10_000, metrics.Value("ml_drift_baseline_events", model));
    }

    [Fact]
    public async Task A_shifted_numeric_feature_raises_its_psi_above_0_2_and_a_shifted_category_mix_is_seen()
    {
        var random = new Random(2);
        string[] countries = ["DE", "FR", "US"];
        await SendAsync(10_000, i =>
        {
            var e = Event("shift", "yes", random, x: Normal(random), amount: null);
            e.CategoricalFeatures["country"] = countries[random.Next(3)];
            return e;
        });
        await SendAsync(10_000, i =>
        {
            var e = Event("shift", "yes", random, x: 0.75 + Normal(random), amount: null);
            e.CategoricalFeatures["country"] = random.NextDouble() < 0.8 ? "US" : "DE";
            return e;
        });

        var metrics = await _sidecar.ScrapeAsync();
        (string, string)[] model = [("model_name", "shift"), ("model_version", "v1")];
        var psi = metrics.Value("ml_feature_drift", [.. model, ("feature_name", "x"), ("method", "psi")]);
        Assert.True(psi > 0.2, $"shifted feature PSI {psi}");
        Assert.True(metrics.Value("ml_feature_drift", [.. model, ("feature_name", "country"), ("method", "psi")]) > 0.2);
        Assert.True(metrics.Value("ml_prediction_drift", [.. model, ("signal", "class"), ("method", "psi")]) < 0.02);
    }

    [Fact]
    public async Task Feature_quantiles_are_within_one_percent_of_numpy()
    {
        var random = new Random(3);
        var amounts = new List<double>();
        await SendAsync(20_000, i =>
        {
            var amount = Math.Exp(4 + (1.2 * Normal(random)));
            amounts.Add(amount);
            return Event("profile", "yes", random, x: null, amount);
        });

        var reference = await PythonReference.RunAsync("drift_reference.py", new { quantiles = new { values = amounts, q = new[] { 0.5, 0.95, 0.99 } } });

        var metrics = await _sidecar.ScrapeAsync();
        string[] statistics = ["p50", "p95", "p99"];
        for (var i = 0; i < statistics.Length; i++)
        {
            var exact = Number(reference["quantiles"]![i]);
            var sketch = metrics.Value("ml_feature_value", ("model_name", "profile"), ("model_version", "v1"), ("feature_name", "amount"), ("statistic", statistics[i]));
            Assert.True(Math.Abs(sketch - exact) <= 0.01 * exact, $"{statistics[i]}: numpy {exact}, sidecar {sketch}");
        }
    }

    [Fact]
    public async Task Estimated_accuracy_tracks_true_accuracy_for_a_calibrated_model_and_the_calibration_error_equals_the_reference()
    {
        var random = new Random(4);
        var (confidences, correct) = (new List<double>(), new List<int>());
        var labels = new GroundTruthBatch();
        await SendAsync(10_000, i =>
        {
            // Calibrated: right with probability equal to its confidence. Confidences on a 1/4096 grid are exact
            // in the single precision the shared state keeps them in.
            var confidence = Math.Round((0.5 + (0.5 * random.NextDouble())) * 4096) / 4096;
            var isRight = random.NextDouble() < confidence;
            var predicted = random.NextDouble() < 0.5 ? "yes" : "no";
            confidences.Add(confidence);
            correct.Add(isRight ? 1 : 0);
            var e = Events.Classified("calibrated", "v1", predicted, confidence);
            e.PredictionId = $"c-{i}";
            labels.Labels.Add(new Label { PredictionId = $"c-{i}", ActualClass = isRight ? predicted : predicted == "yes" ? "no" : "yes" });
            return e;
        });
        foreach (var chunk in labels.Labels.Chunk(5_000))
        {
            await _client.RecordGroundTruthAsync(new GroundTruthBatch { Labels = { chunk } });
        }

        var reference = await PythonReference.RunAsync("drift_reference.py", new { calibration = new { confidence = confidences, correct } });

        var metrics = await _sidecar.ScrapeAsync();
        (string, string)[] model = [("model_name", "calibrated"), ("model_version", "v1")];
        var estimated = metrics.Value("ml_model_estimated_accuracy", model);
        var accuracy = metrics.Value("ml_model_accuracy", model);
        Assert.Equal(Number(reference["calibration"]!["accuracy"]), accuracy, 1e-9);
        Assert.Equal(Number(reference["calibration"]!["mean_confidence"]), estimated, 1e-9);
        Assert.True(Math.Abs(estimated - accuracy) <= 0.02, $"estimated {estimated}, true {accuracy}");
        Assert.Equal(Number(reference["calibration"]!["ece"]), metrics.Value("ml_model_calibration_error", model), 1e-9);
    }

    [Fact]
    public async Task Pin_baseline_captures_a_new_baseline_from_the_next_events()
    {
        var random = new Random(5);
        await SendAsync(10_000, i => Event("repin", "a", random, x: null, amount: null));
        await SendAsync(1_000, i => Event("repin", "b", random, x: null, amount: null));
        Assert.True((await _client.GetModelStatusAsync(new ModelStatusRequest { ModelName = "repin" })).Drift.Single(s => s.Signal == "class").Psi > 1);

        var pinned = await _client.PinBaselineAsync(new PinBaselineRequest { ModelName = "repin", ModelVersion = "v1", BaselineSize = 500 });
        Assert.Equal(500UL, pinned.BaselineSize);
        await SendAsync(500, i => Event("repin", "b", random, x: null, amount: null));
        await SendAsync(500, i => Event("repin", "b", random, x: null, amount: null));

        var status = await _client.GetModelStatusAsync(new ModelStatusRequest { ModelName = "repin" });
        Assert.Equal((true, 500UL), (status.BaselinePinned, status.BaselineEvents));
        var classes = status.Drift.Single(s => s.Signal == "class");
        Assert.Equal(["b"], classes.Categories);
        Assert.Equal([500UL, 0UL], classes.CurrentCounts);
        Assert.True(classes.Psi < 0.001);
    }

    private async Task SendAsync(int count, Func<int, PredictionEvent> next)
    {
        for (var start = 0; start < count; start += 5_000)
        {
            var batch = new PredictionBatch();
            for (var i = start; i < Math.Min(count, start + 5_000); i++)
            {
                batch.Events.Add(next(i));
            }

            Assert.Equal((ulong)batch.Events.Count, (await _client.RecordPredictionsAsync(batch)).Accepted);
        }
    }

    private static PredictionEvent Event(string model, string predicted, Random random, double? x, double? amount)
    {
        var e = Events.Classified(model, "v1", predicted, 0.5 + (0.5 * random.NextDouble()));
        if (x is { } value)
        {
            e.Features["x"] = value;
        }

        if (amount is { } a)
        {
            e.Features["amount"] = a;
        }

        return e;
    }

    private static double Normal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    private static double Number(JsonNode? node) => node!.GetValue<double>();
}

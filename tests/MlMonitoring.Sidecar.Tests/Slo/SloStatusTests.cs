using MlMonitoring.Sidecar.Tests.Infrastructure;
using MlMonitoring.V1;
using Label = MlMonitoring.V1.GroundTruth;

namespace MlMonitoring.Sidecar.Tests.Slo;

public sealed class SloStatusTests
{
    [Fact]
    public async Task Latency_targets_become_bucket_boundaries_and_the_sidecar_reports_each_slo()
    {
        using var sidecar = new SidecarFactory(("Monitoring:SloFile", Repository.PathOf("monitoring", "slo", "slo.yaml")));
        var client = sidecar.CreateMonitorClient();
        var batch = new PredictionBatch();
        var labels = new GroundTruthBatch();
        for (var i = 0; i < 200; i++)
        {
            // 120 within 20 ms, 74 within 100 ms, 4 slower, 2 failures.
            var latency = i < 120 ? 0.015 : i < 194 ? 0.06 : 0.4;
            var e = i < 198 ? Events.Classified("fraud-detector", "v1", i % 2 == 0 ? "fraud" : "legit", 0.9, latency) : Events.Failed("fraud-detector", "v1", "Timeout", latency: latency);
            e.PredictionId = $"p{i}";
            batch.Events.Add(e);
            if (i < 100)
            {
                // 90 of 100 labels right.
                labels.Labels.Add(new Label { PredictionId = $"p{i}", ActualClass = (i % 2 == 0) == (i < 90) ? "fraud" : "legit" });
            }
        }

        await client.RecordPredictionsAsync(batch);
        await client.RecordGroundTruthAsync(labels);

        var metrics = await sidecar.ScrapeAsync();
        (string, string)[] model = [("model_name", "fraud-detector"), ("model_version", "v1")];
        Assert.Equal(120, metrics.Value("ml_prediction_latency_seconds_bucket", [.. model, ("le", "0.02")]));
        Assert.Equal(194, metrics.Value("ml_prediction_latency_seconds_bucket", [.. model, ("le", "0.1")]));
        Assert.Equal(0.999, metrics.Value("ml_slo_objective", ("model_name", "fraud-detector"), ("slo", "availability")));
        Assert.Equal(198 / 200.0, metrics.Value("ml_slo_sli", [.. model, ("slo", "availability")]), 1e-12);
        Assert.Equal(194 / 200.0, metrics.Value("ml_slo_sli", [.. model, ("slo", "latency_p99")]), 1e-12);
        Assert.Equal(120 / 200.0, metrics.Value("ml_slo_sli", [.. model, ("slo", "latency_p50")]), 1e-12);
        Assert.Equal(0.9, metrics.Value("ml_slo_sli", [.. model, ("slo", "accuracy")]), 1e-12);
        Assert.Equal((1 - 0.99) / 0.001, metrics.Value("ml_slo_burn_rate", [.. model, ("slo", "availability")]), 1e-9);
        Assert.Equal(90, metrics.Value("ml_ground_truth_correct_total", model));

        var status = await client.GetModelStatusAsync(new ModelStatusRequest { ModelName = "fraud-detector" });
        Assert.Equal(["availability", "latency_p99", "latency_p50", "accuracy"], status.Slos.Select(s => s.Slo));
        var accuracy = status.Slos.Single(s => s.Slo == "accuracy");
        Assert.Equal((0.95, 100UL), (accuracy.Objective, accuracy.Events));
        Assert.Equal(2.0, accuracy.BurnRate, 1e-9);
    }
}

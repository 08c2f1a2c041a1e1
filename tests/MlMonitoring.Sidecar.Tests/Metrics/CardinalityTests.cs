using Microsoft.Extensions.DependencyInjection;
using MlMonitoring.Sidecar.Tests.Infrastructure;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Tests.Metrics;

public sealed class CardinalityTests
{
    [Fact]
    public async Task Classes_past_the_limit_fold_into_other_and_are_counted()
    {
        using var sidecar = new SidecarFactory(("Monitoring:Limits:MaxClassesPerModel", "3"));
        var client = sidecar.CreateMonitorClient();

        await client.RecordPredictionsAsync(Events.Batch(
            [.. Enumerable.Range(0, 10).Select(i => Events.Classified("m", "v1", $"class-{i}", 0.9))]));

        var metrics = await sidecar.ScrapeAsync();
        var classes = metrics.All("ml_prediction_class_total").Select(s => s.Labels["predicted_class"]).Order().ToArray();
        Assert.Equal(["__other__", "class-0", "class-1", "class-2"], classes);
        Assert.Equal(7, metrics.Value("ml_prediction_class_total", ("model_name", "m"), ("model_version", "v1"), ("predicted_class", "__other__")));
        Assert.Equal(7, metrics.Value("ml_sidecar_cardinality_overflow_total", ("limit", "classes")));
        Assert.Equal(3, metrics.Value("ml_sidecar_limit", ("limit", "classes")));
    }

    [Fact]
    public async Task Label_sets_past_the_series_limit_of_a_metric_add_up_in_the_sdk_overflow_series_and_the_limit_is_shown()
    {
        using var sidecar = new SidecarFactory(("Monitoring:Limits:MaxSeriesPerMetric", "10"));
        var client = sidecar.CreateMonitorClient();

        // 4 versions x 5 classes: 20 label sets of ml_prediction_class_total, each label within its own limit.
        await client.RecordPredictionsAsync(Events.Batch(
            [.. Enumerable.Range(0, 20).Select(i => Events.Classified("m", $"v{i / 5}", $"class-{i % 5}", 0.9))]));

        var metrics = await sidecar.ScrapeAsync();
        var series = metrics.All("ml_prediction_class_total").ToArray();
        var overflow = Assert.Single(series, s => s.Labels.GetValueOrDefault("otel_metric_overflow") == "true");
        Assert.Equal(10, series.Length - 1);
        Assert.Equal(10, overflow.Value);
        Assert.Equal(20, series.Sum(s => s.Value));
        Assert.Equal(10, metrics.Value("ml_sidecar_limit", ("limit", "series_per_metric")));
        // Four label sets of the per-version metrics: within the limit, so no overflow series.
        Assert.Equal(4, metrics.All("ml_prediction_requests_total").Count());
    }

    [Fact]
    public async Task Models_versions_features_and_error_types_past_their_limits_are_bounded()
    {
        using var sidecar = new SidecarFactory(
            ("Monitoring:Limits:MaxModels", "2"),
            ("Monitoring:Limits:MaxVersionsPerModel", "2"),
            ("Monitoring:Limits:MaxFeaturesPerModel", "2"),
            ("Monitoring:Limits:MaxErrorTypesPerModel", "2"));
        var client = sidecar.CreateMonitorClient();
        var batch = new PredictionBatch();
        for (var i = 0; i < 4; i++)
        {
            batch.Events.Add(Events.Classified($"model-{i}", "v1", "a", 0.9));
            batch.Events.Add(Events.Classified("model-0", $"v{i}", "a", 0.9));
            batch.Events.Add(Events.Failed("model-0", "v0", $"Error{i}"));
            var e = Events.Classified("model-0", "v0", "a", 0.9);
            e.Features[$"f{i}"] = i;
            batch.Events.Add(e);
        }

        var response = await client.RecordPredictionsAsync(batch);

        Assert.Equal(16UL, response.Accepted);
        var metrics = await sidecar.ScrapeAsync();
        var models = metrics.All("ml_prediction_requests_total").Select(s => $"{s.Labels["model_name"]}/{s.Labels["model_version"]}").Order();
        Assert.Equal(["__other__/__other__", "model-0/__other__", "model-0/v0", "model-0/v1", "model-1/v1"], models);
        Assert.Equal(3, metrics.All("ml_prediction_errors_total").Count());
        Assert.Equal(2, metrics.All("ml_feature_value").Select(s => s.Labels["feature_name"]).Distinct().Count());
        Assert.Equal(2, metrics.Value("ml_sidecar_cardinality_overflow_total", ("limit", "models")));
        Assert.Equal(2, metrics.Value("ml_sidecar_cardinality_overflow_total", ("limit", "versions")));
        Assert.Equal(2, metrics.Value("ml_sidecar_cardinality_overflow_total", ("limit", "error_types")));
        Assert.Equal(2, metrics.Value("ml_sidecar_cardinality_overflow_total", ("limit", "features")));
    }

    [Theory]
    [InlineData("classes", 100)]
    [InlineData("features", 100)]
    [InlineData("categories", 50)]
    public async Task A_million_distinct_names_leave_the_series_count_bounded_and_memory_flat(string kind, int limit)
    {
        using var sidecar = new SidecarFactory();
        var client = sidecar.CreateMonitorClient();
        async Task SendDistinctNames(int from, int count)
        {
            for (var start = from; start < from + count; start += 10_000)
            {
                var batch = new PredictionBatch();
                for (var i = start; i < start + 10_000; i++)
                {
                    var e = Events.Classified("m", "v1", kind == "classes" ? $"c{i}" : "a", 0.9);
                    if (kind == "features")
                    {
                        e.Features[$"f{i}"] = 1.0;
                    }
                    else if (kind == "categories")
                    {
                        e.CategoricalFeatures["country"] = $"k{i}";
                    }

                    batch.Events.Add(e);
                }

                Assert.Equal(10_000UL, (await client.RecordPredictionsAsync(batch)).Accepted);
            }
        }

        await SendDistinctNames(0, 100_000);
        // The first scrape starts the drift critical values' simulation; their series appear once it is done.
        await sidecar.ScrapeAsync();
        await sidecar.Services.GetRequiredService<MlMonitoring.Sidecar.Drift.DriftRegistry>().CriticalValuesIdle;
        var seriesBefore = (await sidecar.ScrapeAsync()).Samples.Count;
        var memoryBefore = HeapAfterFullCollection();

        await SendDistinctNames(100_000, 900_000);

        var metrics = await sidecar.ScrapeAsync();
        var memoryAfter = HeapAfterFullCollection();
        Assert.Equal(seriesBefore, metrics.Samples.Count);
        Assert.Equal(1_000_000, metrics.Value("ml_prediction_requests_total", ("model_name", "m"), ("model_version", "v1")));
        Assert.Equal(1_000_000 - limit, metrics.Value("ml_sidecar_cardinality_overflow_total", ("limit", kind)));
        // 900,000 more distinct names: were any of them kept, the heap would grow by tens of megabytes.
        Assert.True(memoryAfter - memoryBefore < 8 * 1024 * 1024, $"heap grew from {memoryBefore} to {memoryAfter} bytes");
    }

    private static long HeapAfterFullCollection()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}

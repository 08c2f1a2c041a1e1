using Microsoft.Extensions.Time.Testing;
using MlMonitoring.Sidecar.Tests.Infrastructure;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Tests.Metrics;

public sealed class FeatureMetricsTests : IDisposable
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly SidecarFactory _sidecar;

    public FeatureMetricsTests()
    {
        _sidecar = new SidecarFactory(("Monitoring:FeatureWindow", "00:01:00"), ("Monitoring:Limits:MaxCategoriesPerFeature", "2"))
        {
            Clock = _clock,
        };
    }

    public void Dispose() => _sidecar.Dispose();

    [Fact]
    public async Task Feature_statistics_are_exported_per_model_version_and_feature()
    {
        var client = _sidecar.CreateMonitorClient();
        double[] amounts = [10, 20, 30, 40, double.NaN];
        foreach (var amount in amounts)
        {
            var e = Events.Classified("fraud", "v1", "legit", 0.9);
            e.Features["amount"] = amount;
            await client.RecordPredictionAsync(e);
        }

        var metrics = await _sidecar.ScrapeAsync();
        double Stat(string statistic) => metrics.Value(
            "ml_feature_value", ("model_name", "fraud"), ("model_version", "v1"), ("feature_name", "amount"), ("statistic", statistic));
        Assert.Equal(25, Stat("mean"));
        Assert.Equal(Math.Sqrt(125), Stat("std"), 1e-12); // population std of 10, 20, 30, 40
        Assert.Equal(10, Stat("min"));
        Assert.Equal(40, Stat("max"));
        Assert.Equal(4, Stat("count"));
        Assert.Equal(1, metrics.Value("ml_feature_missing_total", ("model_name", "fraud"), ("model_version", "v1"), ("feature_name", "amount")));
    }

    [Fact]
    public async Task A_feature_that_stops_arriving_leaves_no_gauge_behind()
    {
        var client = _sidecar.CreateMonitorClient();
        var e = Events.Classified("fraud", "v1", "legit", 0.9);
        e.Features["amount"] = 5;
        await client.RecordPredictionAsync(e);
        Assert.NotEmpty((await _sidecar.ScrapeAsync()).All("ml_feature_value"));

        _clock.Advance(TimeSpan.FromSeconds(61));

        Assert.Empty((await _sidecar.ScrapeAsync()).All("ml_feature_value"));
    }

    [Fact]
    public async Task Categories_are_counted_and_past_the_limit_fold_into_other()
    {
        var client = _sidecar.CreateMonitorClient();
        string[] countries = ["DE", "FR", "DE", "IT", "ES"];
        var batch = new PredictionBatch();
        foreach (var country in countries)
        {
            var e = Events.Classified("fraud", "v1", "legit", 0.9);
            e.CategoricalFeatures["country"] = country;
            batch.Events.Add(e);
        }

        await client.RecordPredictionsAsync(batch);

        var metrics = await _sidecar.ScrapeAsync();
        (string, string)[] feature = [("model_name", "fraud"), ("model_version", "v1"), ("feature_name", "country")];
        Assert.Equal(2, metrics.Value("ml_feature_category_total", [.. feature, ("category", "DE")]));
        Assert.Equal(1, metrics.Value("ml_feature_category_total", [.. feature, ("category", "FR")]));
        Assert.Equal(2, metrics.Value("ml_feature_category_total", [.. feature, ("category", "__other__")]));
        Assert.Equal(2, metrics.Value("ml_sidecar_cardinality_overflow_total", ("limit", "categories")));
    }
}

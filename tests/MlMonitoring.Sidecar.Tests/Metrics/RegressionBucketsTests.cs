using MlMonitoring.Sidecar.Tests.Infrastructure;

namespace MlMonitoring.Sidecar.Tests.Metrics;

[Trait("Parts", "Real")]
public sealed class RegressionBucketsTests
{
    [Fact]
    public async Task A_model_with_its_own_buckets_uses_them_and_others_keep_the_global_ones()
    {
        using var sidecar = new SidecarFactory(
            ("Monitoring:RegressionBuckets:0", "1"),
            ("Monitoring:RegressionBuckets:1", "10"),
            ("Monitoring:Models:eta:RegressionBuckets:0", "60"),
            ("Monitoring:Models:eta:RegressionBuckets:1", "300"),
            ("Monitoring:Models:eta:RegressionBuckets:2", "900"));
        var client = sidecar.CreateMonitorClient();

        await client.RecordPredictionsAsync(Events.Batch(
            Events.Regressed("eta", "v1", 120), Events.Regressed("eta", "v1", 1000), Events.Regressed("price", "v1", 5)));

        var metrics = await sidecar.ScrapeAsync();
        var eta = metrics.All("ml_prediction_value_bucket").Where(s => s.Labels["model_name"] == "eta");
        Assert.Equal(["60", "300", "900", "+Inf"], eta.Select(s => s.Labels["le"]));
        Assert.Equal([0.0, 1, 1, 2], eta.Select(s => s.Value));
        var price = metrics.All("ml_prediction_value_bucket").Where(s => s.Labels["model_name"] == "price");
        Assert.Equal(["1", "10", "+Inf"], price.Select(s => s.Labels["le"]));
        Assert.Equal([0.0, 1, 1], price.Select(s => s.Value));
        // One metric family, however many meters feed it.
        Assert.Single(metrics.Text.Split('\n'), line => line == "# TYPE ml_prediction_value histogram");
    }

    [Fact]
    public async Task Unordered_model_buckets_stop_the_start_naming_the_model()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => SidecarProcess.StartAsync(new Dictionary<string, string>
        {
            ["Monitoring__Models__eta__RegressionBuckets__0"] = "300",
            ["Monitoring__Models__eta__RegressionBuckets__1"] = "60",
        }));

        Assert.Contains("the sidecar exited during start", error.Message, StringComparison.Ordinal);
        Assert.Contains("invalid settings: Monitoring:Models:eta:RegressionBuckets", error.Message, StringComparison.Ordinal);
    }
}

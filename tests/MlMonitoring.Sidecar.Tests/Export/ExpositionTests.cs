using MlMonitoring.Sidecar.Tests.Infrastructure;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Tests.Export;

/// <summary>The scrape endpoint judged by Prometheus' own tools.</summary>
[Trait("Parts", "Real")]
public sealed class ExpositionTests
{
    [Fact]
    public async Task Promtool_finds_nothing_to_complain_about_in_the_exposition()
    {
        // A model with buckets of its own adds a second meter to the ml_prediction_value family.
        await using var sidecar = await SidecarProcess.StartAsync(new Dictionary<string, string>
        {
            ["Monitoring__Models__price__RegressionBuckets__0"] = "10",
            ["Monitoring__Models__price__RegressionBuckets__1"] = "100",
        });
        await SendEveryKindOfEventAsync(sidecar.CreateMonitorClient());
        var exposition = await sidecar.ScrapeTextAsync();
        Assert.Contains("ml_feature_category_total", exposition, StringComparison.Ordinal);

        var promtool = ExternalProcess.Require("promtool", "prometheus");
        var (exitCode, output) = await ExternalProcess.RunAsync(promtool, ["check", "metrics"], exposition);

        Assert.True(exitCode == 0, $"promtool check metrics failed:\n{output}");
        Assert.Equal("", output.Trim());
    }

    [Fact]
    public async Task The_openmetrics_format_that_prometheus_asks_for_first_is_served()
    {
        await using var sidecar = await SidecarProcess.StartAsync();
        await SendEveryKindOfEventAsync(sidecar.CreateMonitorClient());
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        // The Accept header of Prometheus 2.x scrapes.
        request.Headers.TryAddWithoutValidation("Accept",
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1");

        using var response = await sidecar.Http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal("application/openmetrics-text", response.Content.Headers.ContentType?.MediaType);
        Assert.EndsWith("# EOF\n", body, StringComparison.Ordinal);
        Assert.Contains("# TYPE ml_prediction_requests counter", body, StringComparison.Ordinal);
        Assert.Contains("ml_prediction_requests_total{", body, StringComparison.Ordinal);
    }

    internal static async Task SendEveryKindOfEventAsync(PredictionMonitor.PredictionMonitorClient client)
    {
        var classified = Events.Classified("fraud", "v1", "legit", 0.93);
        classified.Features["amount"] = 12.5;
        classified.Features["age"] = double.NaN;
        classified.CategoricalFeatures["country"] = "DE";
        classified.Classification.ClassScores["legit"] = 0.93;
        classified.Classification.ClassScores["fraud"] = 0.07;
        await client.RecordPredictionsAsync(Events.Batch(
            classified,
            Events.Failed("fraud", "v1", "TimeoutError", ErrorKind.Timeout),
            Events.Regressed("price", "v7", 42),
            Events.Regressed("eta", "v1", 42),
            Events.Classified("", "v1", "x", 0.5)));
    }
}

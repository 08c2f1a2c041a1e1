using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace MlMonitoring.Client.Tests;

/// <summary>examples/python-model-server end to end: model server, sidecar and a real Prometheus.</summary>
[Trait("Parts", "Real")]
public sealed class ExampleModelServerTests
{
    private static readonly double[][] Flowers =
    [
        [5.1, 3.5, 1.4, 0.2], [4.9, 3.0, 1.4, 0.2], [7.0, 3.2, 4.7, 1.4], [6.4, 3.2, 4.5, 1.5],
        [6.3, 3.3, 6.0, 2.5], [5.8, 2.7, 5.1, 1.9], [5.9, 3.0, 4.2, 1.5], [6.7, 3.0, 5.2, 2.3],
    ];

    /// <summary>The example's README: a prediction, then its label at once; the label joins though it arrives first.</summary>
    [Fact]
    public async Task The_readmes_predict_then_label_sequence_joins_the_label()
    {
        await using var sidecar = await SidecarProcess.StartAsync();
        var (server, http) = await StartExampleServerAsync(sidecar);
        await using var _ = server;
        using var __ = http;

        for (var i = 0; i < 5; i++)
        {
            (await PostAsync(http, "/predict", new { features = new { sepal_length = 5.1, sepal_width = 3.5, petal_length = 1.4, petal_width = 0.2 }, prediction_id = $"p{i}" })).EnsureSuccessStatusCode();
            (await PostAsync(http, "/label", new { prediction_id = $"p{i}", actual_class = "setosa" })).EnsureSuccessStatusCode();
        }

        await Eventually.AssertAsync(
            async () =>
            {
                var metrics = await sidecar.ScrapeAsync();
                Assert.Equal(5, metrics.All("ml_ground_truth_total").Where(s => s.Labels["model_name"] == "iris-classifier").Sum(s => s.Value));
                Assert.Null(metrics.Find("ml_ground_truth_unmatched_total", ("reason", "unknown")));
            },
            TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task The_example_model_server_produces_the_guides_dashboard_data_end_to_end()
    {
        await using var sidecar = await SidecarProcess.StartAsync();
        var (server, http) = await StartExampleServerAsync(sidecar);
        await using var _ = server;
        using var __ = http;
        await using var prometheus = await PrometheusServer.StartAsync([$"127.0.0.1:{sidecar.HttpPort}"]);

        await prometheus.WaitForNextScrapeAsync();
        var answered = new List<string>();
        for (var round = 0; round < 4; round++)
        {
            for (var i = 0; i < 40; i++)
            {
                var flower = Flowers[i % Flowers.Length];
                var response = await PostAsync(http, "/predict", new
                {
                    features = new { sepal_length = flower[0], sepal_width = flower[1], petal_length = flower[2], petal_width = flower[3] },
                    prediction_id = $"r{round}-{i}",
                });
                response.EnsureSuccessStatusCode();
                answered.Add((string)(await response.Content.ReadFromJsonAsync<JsonNode>())!["prediction"]!);
            }

            // One request in 41 lacks a feature: the model raises KeyError, recorded as an error.
            var bad = await PostAsync(http, "/predict", new { features = new { sepal_length = 5.0 } });
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, bad.StatusCode);
            await Task.Delay(200); // the client sends within its flush interval (50 ms)
            await prometheus.WaitForNextScrapeAsync();
        }

        await prometheus.WaitForNextScrapeAsync();
        var rate = await prometheus.QueryAsync("sum(rate(ml_prediction_requests_total[5m])) by (model_name)");
        Assert.True(rate.Count == 1, $"rate: {rate.Count} series\n{await sidecar.ScrapeTextAsync()}\n{server.Output}\n{prometheus.Output}");
        Assert.Equal("iris-classifier", rate[0].Labels["model_name"]);
        Assert.True(rate[0].Value > 0);
        // The seed's queries, unchanged, against what the sidecar exported: each equals the figure computed here from
        // the counts Prometheus scraped (the raw counters, read back), not merely a value in the range a quantile or
        // ratio can take. All at one evaluation time, so that every query sees the same samples.
        var at = DateTimeOffset.UtcNow;
        var p99 = await prometheus.QueryAsync("histogram_quantile(0.99,\n  sum(rate(ml_prediction_latency_seconds_bucket[5m])) by (le, model_name)\n)", at);
        var latencyIncrease = await CumulativeBucketsAsync(prometheus, "sum(increase(ml_prediction_latency_seconds_bucket[5m])) by (le)", at);
        Assert.Equal(Quantile(0.99, latencyIncrease), Assert.Single(p99).Value, 9);
        var errorRate = await prometheus.QueryAsync("sum(rate(ml_prediction_errors_total[5m])) by (model_name)\n/\nsum(rate(ml_prediction_requests_total[5m])) by (model_name)", at);
        var errorIncrease = Assert.Single(await prometheus.QueryAsync("sum(increase(ml_prediction_errors_total[5m]))", at)).Value;
        var requestIncrease = Assert.Single(await prometheus.QueryAsync("sum(increase(ml_prediction_requests_total[5m]))", at)).Value;
        Assert.Equal(errorIncrease / requestIncrease, Assert.Single(errorRate).Value, 9);
        var distribution = await prometheus.QueryAsync("sum(rate(ml_prediction_class_total[1h])) by (predicted_class)", at);
        Assert.Equal(answered.Distinct().Order(), distribution.Select(s => s.Labels["predicted_class"]).Order());
        var lowConfidence = await prometheus.QueryAsync("histogram_quantile(0.10,\n  sum(rate(ml_prediction_confidence_bucket[1h])) by (le)\n)", at);
        var confidenceIncrease = await CumulativeBucketsAsync(prometheus, "sum(increase(ml_prediction_confidence_bucket[1h])) by (le)", at);
        Assert.Equal(Quantile(0.10, confidenceIncrease), Assert.Single(lowConfidence).Value, 9);

        // And the raw counters, exactly: every answered prediction and each bad request.
        var raw = await CumulativeBucketsAsync(prometheus, "sum(ml_prediction_confidence_bucket) by (le)");
        Assert.Equal(answered.Count, raw[^1].Count);
        Assert.Equal(4.0 / 164, Assert.Single(await prometheus.QueryAsync("sum(ml_prediction_errors_total) / sum(ml_prediction_requests_total)")).Value, 12);

        var metrics = await sidecar.ScrapeAsync();
        Assert.Equal(164, metrics.Value("ml_prediction_requests_total", ("model_name", "iris-classifier"), ("model_version", "v1")));
        Assert.Equal(4, metrics.Value("ml_prediction_errors_total", ("model_name", "iris-classifier"), ("model_version", "v1"), ("error_type", "KeyError"), ("error_kind", "server")));
    }

    /// <summary>Cumulative bucket values by upper bound, +Inf last.</summary>
    private static async Task<List<(double Le, double Count)>> CumulativeBucketsAsync(PrometheusServer prometheus, string promql, DateTimeOffset? at = null) =>
        [.. (await prometheus.QueryAsync(promql, at))
            .Select(s => (Le: s.Labels["le"] == "+Inf" ? double.PositiveInfinity : double.Parse(s.Labels["le"], System.Globalization.CultureInfo.InvariantCulture), Count: s.Value))
            .OrderBy(b => b.Le)];

    /// <summary>
    /// The quantile as Prometheus documents histogram_quantile: linear interpolation inside the bucket holding the
    /// rank, the first bucket starting at 0, the highest finite bound for a rank in +Inf. Written here as the reference.
    /// </summary>
    private static double Quantile(double q, List<(double Le, double Count)> cumulative)
    {
        var rank = q * cumulative[^1].Count;
        var b = cumulative.FindIndex(c => c.Count >= rank);
        if (double.IsPositiveInfinity(cumulative[b].Le))
        {
            return cumulative[^2].Le;
        }

        var (start, below) = b == 0 ? (0.0, 0.0) : cumulative[b - 1];
        return start + ((cumulative[b].Le - start) * (rank - below) / (cumulative[b].Count - below));
    }

    /// <summary>A JSON POST with Content-Length, as the standard library's HTTP server needs.</summary>
    private static Task<HttpResponseMessage> PostAsync(HttpClient http, string path, object body) =>
        http.PostAsync(new Uri(path, UriKind.Relative), new StringContent(System.Text.Json.JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json"));

    /// <summary>The example server, as its README starts it, sending to <paramref name="sidecar"/>; once it answers.</summary>
    private static async Task<(ExternalProcess Server, HttpClient Http)> StartExampleServerAsync(SidecarProcess sidecar)
    {
        var port = FreePort.Next();
        var server = ExternalProcess.Start("/usr/bin/python3", [Repository.PathOf("examples", "python-model-server", "server.py")], new Dictionary<string, string>
        {
            ["PYTHONPATH"] = Repository.PathOf("clients", "python"),
            ["MLMONITORING_TARGET"] = $"127.0.0.1:{sidecar.GrpcPort}",
            ["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        // It trains its model first, then binds.
        await server.WaitUntilReadyAsync(new Uri(http.BaseAddress!, "/healthz"), "the model server", TimeSpan.FromSeconds(60));
        return (server, http);
    }
}

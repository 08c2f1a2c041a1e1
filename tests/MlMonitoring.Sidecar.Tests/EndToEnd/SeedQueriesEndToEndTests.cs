using Grpc.Core;
using MlMonitoring.Sidecar.Tests.Infrastructure;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Tests.EndToEnd;

/// <summary>
/// The seed document's PromQL, unchanged, against a real Prometheus scraping a real sidecar process.
/// </summary>
/// <remarks>
/// Traffic is sent in identical rounds, each right after a scrape, so that every scrape sees every counter at the
/// same multiple of one round. Rates then differ from each other by exact factors whatever Prometheus'
/// extrapolation does, and quantiles and ratios have exact expected values.
/// </remarks>
[Trait("Parts", "Real")]
public sealed class SeedQueriesEndToEndTests
{
    private static readonly double[] LatencyBounds = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, double.PositiveInfinity];
    private static readonly double[] ConfidenceBounds = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, double.PositiveInfinity];

    /// <summary>One round: fraud/v1 gets 100 events with 2 errors, churn/v2 50 events without errors.</summary>
    private static List<PredictionEvent> Round()
    {
        var events = new List<PredictionEvent>();
        events.AddRange(Enumerable.Range(0, 70).Select(_ => Events.Classified("fraud", "v1", "legit", 0.97, latency: 0.03)));
        events.AddRange(Enumerable.Range(0, 28).Select(_ => Events.Classified("fraud", "v1", "fraud", 0.55, latency: 0.03)));
        events.AddRange(Enumerable.Range(0, 2).Select(_ => Events.Failed("fraud", "v1", "ValueError", latency: 0.3)));
        events.AddRange(Enumerable.Range(0, 40).Select(_ => Events.Classified("churn", "v2", "stay", 0.85, latency: 0.008)));
        events.AddRange(Enumerable.Range(0, 10).Select(_ => Events.Classified("churn", "v2", "leave", 0.65, latency: 0.008)));
        return events;
    }

    [Fact]
    public async Task The_seed_queries_answer_exactly_from_a_real_prometheus()
    {
        await using var sidecar = await SidecarProcess.StartAsync();
        await using var prometheus = await PrometheusServer.StartAsync([$"127.0.0.1:{sidecar.HttpPort}"]);
        var client = sidecar.CreateMonitorClient();

        await prometheus.WaitForNextScrapeAsync();
        for (var round = 0; round < 4; round++)
        {
            await SendRoundAsync(client, round % 3);
            await prometheus.WaitForNextScrapeAsync();
        }

        await prometheus.WaitForNextScrapeAsync();

        // Request rate by model: fraud receives exactly twice churn's traffic.
        var requestRate = await QueryByAsync(prometheus, "sum(rate(ml_prediction_requests_total[5m])) by (model_name)", "model_name");
        Assert.Equal(["churn", "fraud"], requestRate.Keys.Order());
        Assert.True(requestRate["churn"] > 0);
        Assert.Equal(2.0, requestRate["fraud"] / requestRate["churn"], 1e-9);

        // P99 latency, per model as in the alert and over all models as in the dashboard.
        var p99 = await QueryByAsync(prometheus, "histogram_quantile(0.99,\n  sum(rate(ml_prediction_latency_seconds_bucket[5m])) by (le, model_name)\n)", "model_name");
        Assert.Equal(HistogramQuantile(0.99, LatencyBounds, [0, 0, 98, 98, 98, 100, 100, 100, 100]), p99["fraud"], 1e-9);
        Assert.Equal(HistogramQuantile(0.99, LatencyBounds, [50, 50, 50, 50, 50, 50, 50, 50, 50]), p99["churn"], 1e-9);
        Assert.Equal(0.375, p99["fraud"], 1e-9);
        var p99All = await prometheus.QueryAsync("histogram_quantile(0.99, sum(rate(ml_prediction_latency_seconds_bucket[5m])) by (le))");
        Assert.Equal(HistogramQuantile(0.99, LatencyBounds, [50, 50, 148, 148, 148, 150, 150, 150, 150]), p99All.Single().Value, 1e-9);

        // Error rate: 2 of fraud's 100; churn has no error series, so the seed's division yields nothing for it.
        var errorRate = await QueryByAsync(prometheus,
            "sum(rate(ml_prediction_errors_total[5m])) by (model_name)\n/\nsum(rate(ml_prediction_requests_total[5m])) by (model_name)", "model_name");
        Assert.Equal(0.02, Assert.Single(errorRate).Value, 1e-9);
        var overallErrorRate = await prometheus.QueryAsync("sum(rate(ml_prediction_errors_total[5m])) / sum(rate(ml_prediction_requests_total[5m]))");
        Assert.Equal(2.0 / 150, overallErrorRate.Single().Value, 1e-9);

        // Prediction distribution.
        var distribution = await QueryByAsync(prometheus, "sum(rate(ml_prediction_class_total[1h])) by (predicted_class)", "predicted_class");
        Assert.Equal(["fraud", "leave", "legit", "stay"], distribution.Keys.Order());
        var total = distribution.Values.Sum();
        Assert.Equal(70.0 / 148, distribution["legit"] / total, 1e-9);
        Assert.Equal(28.0 / 148, distribution["fraud"] / total, 1e-9);
        Assert.Equal(40.0 / 148, distribution["stay"] / total, 1e-9);
        Assert.Equal(10.0 / 148, distribution["leave"] / total, 1e-9);

        // Low-confidence quantile over all classes.
        var lowConfidence = await prometheus.QueryAsync("histogram_quantile(0.10,\n  sum(rate(ml_prediction_confidence_bucket[1h])) by (le)\n)");
        Assert.Equal(HistogramQuantile(0.10, ConfidenceBounds, [0, 28, 38, 38, 78, 78, 148, 148]), lowConfidence.Single().Value, 1e-9);

        // The seed's model-level alert inputs carry model_version too.
        var versions = await prometheus.QueryAsync("count(ml_prediction_requests_total) by (model_name, model_version)");
        Assert.Equal(["churn/v2", "fraud/v1"], versions.Select(s => $"{s.Labels["model_name"]}/{s.Labels["model_version"]}").Order());

        var target = Assert.Single(await prometheus.TargetsAsync());
        Assert.Equal(("up", ""), (target.Health, target.LastError));
    }

    private static async Task SendRoundAsync(PredictionMonitor.PredictionMonitorClient client, int rpc)
    {
        var events = Round();
        switch (rpc)
        {
            case 0:
                Assert.Equal((ulong)events.Count, (await client.RecordPredictionsAsync(Events.Batch([.. events]))).Accepted);
                break;
            case 1:
                using (var call = client.StreamPredictions())
                {
                    await call.RequestStream.WriteAsync(Events.Batch([.. events]));
                    Assert.True(await call.ResponseStream.MoveNext());
                    Assert.Equal((ulong)events.Count, call.ResponseStream.Current.Accepted);
                    await call.RequestStream.CompleteAsync();
                    Assert.False(await call.ResponseStream.MoveNext());
                }

                break;
            default:
                foreach (var e in events)
                {
                    await client.RecordPredictionAsync(e);
                }

                break;
        }
    }

    private static async Task<Dictionary<string, double>> QueryByAsync(PrometheusServer prometheus, string promql, string label) =>
        (await prometheus.QueryAsync(promql)).ToDictionary(s => s.Labels[label], s => s.Value);

    /// <summary>
    /// A plain reference of Prometheus' histogram_quantile: linear interpolation inside the bucket holding the rank,
    /// the first bucket starting at 0, and the +Inf bucket answered by the highest finite bound.
    /// </summary>
    private static double HistogramQuantile(double q, double[] upperBounds, double[] cumulativeCounts)
    {
        var total = cumulativeCounts[^1];
        var rank = q * total;
        var b = Array.FindIndex(cumulativeCounts, count => count >= rank);
        if (double.IsPositiveInfinity(upperBounds[b]))
        {
            return upperBounds[^2];
        }

        var bucketStart = b == 0 ? 0 : upperBounds[b - 1];
        var countStart = b == 0 ? 0 : cumulativeCounts[b - 1];
        return bucketStart + ((upperBounds[b] - bucketStart) * (rank - countStart) / (cumulativeCounts[b] - countStart));
    }
}

using System.Text.Json.Nodes;
using MlMonitoring.Sidecar.Tests.Infrastructure;
using MlMonitoring.V1;
using Label = MlMonitoring.V1.GroundTruth;

namespace MlMonitoring.Sidecar.Tests.Monitoring;

/// <summary>The Grafana dashboard of monitoring/grafana: its shape, and every panel query against a live Prometheus fed by the sidecar.</summary>
[Trait("Parts", "Real")]
public sealed class DashboardTests
{
    private static readonly string DashboardFile = Repository.PathOf("monitoring", "grafana", "ml-model-monitoring.json");

    private static JsonNode Dashboard => JsonNode.Parse(File.ReadAllText(DashboardFile))!;

    /// <summary>The row of the LLM panels, fed by the tap rather than by the gRPC contract.</summary>
    private const string LlmRow = "LLM traffic (tap, OpenTelemetry GenAI conventions)";

    private static IEnumerable<(string Panel, string Expr)> Queries => QueriesOf(row => row != LlmRow);

    /// <summary>The queries of the panels under the rows <paramref name="rows"/> accepts (a panel belongs to the row above it).</summary>
    private static IEnumerable<(string Panel, string Expr)> QueriesOf(Func<string, bool> rows)
    {
        var row = "";
        foreach (var panel in Dashboard["panels"]!.AsArray())
        {
            if ((string?)panel!["type"] == "row")
            {
                row = (string)panel["title"]!;
            }
            else if (rows(row))
            {
                foreach (var target in panel["targets"]!.AsArray())
                {
                    yield return ((string)panel["title"]!, (string)target!["expr"]!);
                }
            }
        }
    }

    [Fact]
    public void The_dashboard_is_templated_by_datasource_model_and_version_and_keeps_the_guides_panels()
    {
        var dashboard = Dashboard;
        Assert.True((int)dashboard["schemaVersion"]! >= 39);
        var variables = dashboard["templating"]!["list"]!.AsArray().Select(v => ((string)v!["name"]!, (string)v["type"]!)).ToList();
        Assert.Equal([("datasource", "datasource"), ("model_name", "query"), ("model_version", "query")], variables);
        foreach (var panel in dashboard["panels"]!.AsArray().Where(p => (string?)p!["type"] != "row"))
        {
            Assert.Equal("${datasource}", (string?)panel!["datasource"]!["uid"]);
            Assert.All(panel["targets"]!.AsArray(), t => Assert.Equal("${datasource}", (string?)t!["datasource"]!["uid"]));
        }

        var titles = Queries.Select(q => q.Panel).ToHashSet();
        Assert.Superset(new HashSet<string> { "Prediction Requests/sec", "P99 Latency", "Error Rate" }, titles);
        Assert.Contains(Queries, q => q.Panel == "P99 Latency" && q.Expr.StartsWith("histogram_quantile(0.99, sum(rate(ml_prediction_latency_seconds_bucket{", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Every_panel_query_is_valid_promql_and_returns_data_from_a_live_prometheus()
    {
        await using var sidecar = await SidecarProcess.StartAsync(new Dictionary<string, string>
        {
            ["Monitoring__SloFile"] = Repository.PathOf("monitoring", "slo", "slo.yaml"),
            ["Monitoring__Drift__BaselineSize"] = "100",
        });
        await using var prometheus = await PrometheusServer.StartAsync(
            [$"127.0.0.1:{sidecar.HttpPort}"],
            $"""
            rule_files:
              - '{Repository.PathOf("monitoring", "prometheus", "rules", "slo-generated.yaml")}'
              - '{Repository.PathOf("monitoring", "prometheus", "rules", "ml-fleet.yaml")}'
            """);
        var client = sidecar.CreateMonitorClient();

        await prometheus.WaitForNextScrapeAsync();
        for (var round = 0; round < 4; round++)
        {
            await SendRoundAsync(client, round);
            await prometheus.WaitForNextScrapeAsync();
        }

        await prometheus.WaitForNextScrapeAsync();
        var empty = new List<string>();
        foreach (var (panel, expr) in Queries)
        {
            var promql = expr.Replace("$model_name", ".+", StringComparison.Ordinal).Replace("$model_version", ".+", StringComparison.Ordinal);
            var result = await prometheus.QueryAsync(promql); // fails the test with Prometheus' error if not valid
            if (result.Count == 0 || result.All(r => double.IsNaN(r.Value)))
            {
                empty.Add($"{panel}: {expr}");
            }
        }

        Assert.True(empty.Count == 0, "queries without data:\n" + string.Join("\n", empty));
    }

    [Fact]
    public async Task The_llm_row_reads_the_tap_traffic_of_the_openai_client_from_a_live_prometheus()
    {
        await using var upstream = await Tap.UpstreamModelServer.StartAsync();
        var (sidecar, tapHttp, _) = await Tap.TapProcess.StartAsync(upstream.HttpUrl, upstream.GrpcUrl);
        await using var __ = sidecar;
        await using var prometheus = await PrometheusServer.StartAsync([$"127.0.0.1:{sidecar.HttpPort}"]);

        await prometheus.WaitForNextScrapeAsync();
        for (var round = 0; round < 3; round++)
        {
            await Tap.OpenAiTapTests.RunClientsAsync($"http://127.0.0.1:{tapHttp}", upstream.HttpUrl);
            await prometheus.WaitForNextScrapeAsync();
        }

        await prometheus.WaitForNextScrapeAsync();
        var queries = QueriesOf(row => row == LlmRow).ToList();
        Assert.Equal(["Time to first token", "Time per output token", "Tokens per second, in and out", "Finish reasons", "LLM errors by type"],
            queries.Select(q => q.Panel).Distinct());
        foreach (var (panel, expr) in queries)
        {
            var result = await prometheus.QueryAsync(expr.Replace("$model_name", ".+", StringComparison.Ordinal));
            Assert.True(result.Count > 0 && result.All(r => double.IsFinite(r.Value)), $"{panel} has no data: {expr}");
            if (panel == "Time to first token")
            {
                // The upstream's first token comes 30 ms after the request, later under load, never sooner: no
                // quantile can fall below the conventions' bucket (0.02, 0.04].
                Assert.All(result, r => Assert.InRange(r.Value, 0.02, 10.0));
            }
        }
    }

    private static async Task SendRoundAsync(PredictionMonitor.PredictionMonitorClient client, int round)
    {
        var batch = new PredictionBatch();
        var labels = new GroundTruthBatch();
        var outcomes = new OutcomeBatch();
        var random = new Random(round);
        for (var i = 0; i < 200; i++)
        {
            var id = $"r{round}-{i}";
            var e = i % 50 == 0
                ? Events.Failed("fraud-detector", "v1", i % 100 == 0 ? "TimeoutError" : "ValueError", i % 100 == 0 ? ErrorKind.Timeout : ErrorKind.Server, latency: 0.3)
                : Events.Classified("fraud-detector", "v1", random.NextDouble() < 0.2 ? "fraud" : "legit", 0.5 + (0.5 * random.NextDouble()), latency: 0.005 + (0.1 * random.NextDouble()));
            e.PredictionId = id;
            e.Features["amount"] = i % 20 == 0 ? double.NaN : Math.Exp(3 + random.NextDouble());
            e.Features["account_age_days"] = random.Next(1, 3000);
            e.CategoricalFeatures["country"] = i % 3 == 0 ? "DE" : "US";
            batch.Events.Add(e);
            if (e.ResultCase == PredictionEvent.ResultOneofCase.Classification)
            {
                labels.Labels.Add(new Label { PredictionId = id, ActualClass = random.NextDouble() < 0.9 ? e.Classification.PredictedClass : "fraud" });
                if (i % 10 == 0)
                {
                    outcomes.Outcomes.Add(new Outcome { PredictionId = id, Kind = "revenue", Value = 10 + i });
                }
            }
        }

        await client.RecordPredictionsAsync(batch);
        await client.RecordGroundTruthAsync(labels);
        await client.RecordOutcomesAsync(outcomes);
    }
}

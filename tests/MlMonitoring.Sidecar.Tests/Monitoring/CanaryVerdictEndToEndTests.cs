using MlMonitoring.Sidecar.Tests.Infrastructure;
using MlMonitoring.V1;
using Xunit.Abstractions;
using YamlDotNet.RepresentationModel;
using Label = MlMonitoring.V1.GroundTruth;

namespace MlMonitoring.Sidecar.Tests.Monitoring;

/// <summary>
/// The canary verdict through the shipped executable and a real Prometheus with the shipped rules, read with the
/// queries of the shipped Flagger MetricTemplate and Argo Rollouts AnalysisTemplate, their variables filled in: a
/// candidate as accurate as the stable version on 20,000 labels passes, one right half of the time fails.
/// </summary>
[Trait("Parts", "Real")]
public sealed class CanaryVerdictEndToEndTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_flagger_and_argo_queries_read_pass_for_an_equal_candidate_and_fail_for_a_worse_one()
    {
        await using var sidecar = await SidecarProcess.StartAsync(new Dictionary<string, string>
        {
            ["Monitoring__Canary__StableVersion"] = "v1",
        });
        var client = sidecar.CreateMonitorClient();
        await using var prometheus = await PrometheusServer.StartAsync(
            [$"127.0.0.1:{sidecar.HttpPort}"], RuleFiles.CopyAsPrometheusConfig(shortenFor: true));
        var random = new Random(8);

        // Counters enter Prometheus at their first scrape, and increase() counts from there: a few events first.
        foreach (var version in new[] { "v1", "v2", "v3" })
        {
            await SendAsync(client, random, version, 10, accuracy: 0.9);
        }

        await prometheus.WaitForNextScrapeAsync();
        await SendAsync(client, random, "v1", 20_000, accuracy: 0.9);
        await SendAsync(client, random, "v2", 20_000, accuracy: 0.9);
        await SendAsync(client, random, "v3", 500, accuracy: 0.5);

        await prometheus.WaitForRulesAsync("model_version:ml_canary_verdict:fleet{model_name='canaried', model_version='v3'}", -1);
        var at = await prometheus.WaitForRulesAsync("model_version:ml_canary_verdict:fleet{model_name='canaried', model_version='v2'}", 1);
        output.WriteLine(string.Join("; ", (await prometheus.QueryAsync("model_version:ml_canary_check:fleet", at)).Select(c => $"{c.Labels["model_version"]} {c.Labels["check"]} {c.Value}")));

        var flagger = Yaml("flagger-metric-template.yaml");
        var flaggerQuery = ((YamlScalarNode)flagger["spec"]["query"]).Value!;
        var argo = Yaml("argo-analysis-template.yaml");
        var argoMetric = (YamlMappingNode)((YamlSequenceNode)argo["spec"]["metrics"])[0];
        var argoQuery = ((YamlScalarNode)argoMetric["provider"]["prometheus"]["query"]).Value!;
        Assert.Equal("result[0] == 1", argoMetric["successCondition"].ToString());
        Assert.Equal("result[0] == -1", argoMetric["failureCondition"].ToString());
        Assert.Equal(int.Parse(argoMetric["count"].ToString(), System.Globalization.CultureInfo.InvariantCulture) - 1,
            int.Parse(argoMetric["inconclusiveLimit"].ToString(), System.Globalization.CultureInfo.InvariantCulture));

        foreach (var (candidate, verdict) in new[] { ("v2", 1.0), ("v3", -1.0) })
        {
            var filledFlagger = flaggerQuery
                .Replace("{{ variables.model_name }}", "canaried", StringComparison.Ordinal)
                .Replace("{{ variables.candidate_version }}", candidate, StringComparison.Ordinal)
                .Replace("{{ variables.stable_version }}", "v1", StringComparison.Ordinal);
            var filledArgo = argoQuery
                .Replace("{{args.model-name}}", "canaried", StringComparison.Ordinal)
                .Replace("{{args.candidate-version}}", candidate, StringComparison.Ordinal)
                .Replace("{{args.stable-version}}", "v1", StringComparison.Ordinal);
            Assert.DoesNotContain("{{", filledFlagger, StringComparison.Ordinal);
            Assert.DoesNotContain("{{", filledArgo, StringComparison.Ordinal);
            Assert.Equal(verdict, await prometheus.QueryOneAsync(filledFlagger, at));
            Assert.Equal(verdict, await prometheus.QueryOneAsync(filledArgo, at));
        }
    }

    private static YamlMappingNode Yaml(string file)
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(Repository.PathOf("k8s", "canary", file)))
        {
            yaml.Load(reader);
        }

        return (YamlMappingNode)yaml.Documents[0].RootNode;
    }

    private static async Task SendAsync(PredictionMonitor.PredictionMonitorClient client, Random random, string version, int count, double accuracy)
    {
        for (var sent = 0; sent < count; sent += 1_000)
        {
            var batch = new PredictionBatch();
            var labels = new GroundTruthBatch();
            for (var i = sent; i < Math.Min(count, sent + 1_000); i++)
            {
                var predicted = random.NextDouble() < 0.7 ? "legit" : "fraud";
                var e = Events.Classified("canaried", version, predicted, 0.5 + (0.5 * random.NextDouble()), latency: 0.01);
                e.PredictionId = $"{version}-{Guid.NewGuid():N}";
                batch.Events.Add(e);
                var actual = random.NextDouble() < accuracy ? predicted : (predicted == "legit" ? "fraud" : "legit");
                labels.Labels.Add(new Label { PredictionId = e.PredictionId, ActualClass = actual });
            }

            Assert.Equal((ulong)batch.Events.Count, (await client.RecordPredictionsAsync(batch)).Accepted);
            await client.RecordGroundTruthAsync(labels);
        }
    }
}

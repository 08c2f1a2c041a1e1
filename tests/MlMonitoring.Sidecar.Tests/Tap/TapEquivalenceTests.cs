using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using MlMonitoring.Sidecar.Tests.Infrastructure;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Tests.Tap;

/// <summary>
/// The promise of the tap: a model server that is never changed gives the same metrics as one instrumented with the
/// gRPC contract. The same predictions, once observed through the tap and once sent as events, must give the same
/// series (latency aside: the tap measures it, an instrumented server reports its own).
/// </summary>
[Trait("Parts", "Real")]
public sealed class TapEquivalenceTests
{
    [Fact]
    public async Task Predictions_observed_through_the_tap_give_the_series_an_instrumented_server_gives()
    {
        await using var upstream = await UpstreamModelServer.StartAsync();
        var (tapped, tapHttp, _) = await TapProcess.StartAsync(upstream.HttpUrl, upstream.GrpcUrl, ("Monitoring__Drift__BaselineSize", "40"), ("Monitoring__SnapshotReuse", "00:00:00"));
        await using var _ = tapped;
        await using var instrumented = await SidecarProcess.StartAsync(new Dictionary<string, string> { ["Monitoring__Drift__BaselineSize"] = "40", ["Monitoring__SnapshotReuse"] = "00:00:00" });

        var random = new Random(7);
        var events = new PredictionBatch();
        using var http = new HttpClient();
        for (var call = 0; call < 30; call++)
        {
            var rows = Enumerable.Range(0, 1 + (call % 4)).Select(_ => Enumerable.Range(0, 4).Select(_ => Math.Round(random.NextDouble() * 6, 3)).ToArray()).ToArray();
            var body = new JsonObject
            {
                ["inputs"] = new JsonArray(new JsonObject
                {
                    ["name"] = "features", ["datatype"] = "FP32", ["shape"] = new JsonArray(rows.Length, 4),
                    ["data"] = new JsonArray([.. rows.SelectMany(r => r).Select(v => (JsonNode)v)]),
                }),
            };
            var id = $"eq-{call}";
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"http://127.0.0.1:{tapHttp}/v2/models/iris/infer"))
            {
                Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
            };
            request.Headers.Add("x-request-id", id);
            using var response = await http.SendAsync(request);
            var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            var probabilities = answer["outputs"]!.AsArray().Single(o => (string)o!["name"]! == "probabilities")!["data"]!.AsArray().Select(p => (double)p!).ToArray();

            // What an instrumented server would send for the same answer.
            for (var i = 0; i < rows.Length; i++)
            {
                var e = new PredictionEvent
                {
                    ModelName = "iris", ModelVersion = (string)answer["model_version"]!, LatencySeconds = 0.01,
                    PredictionId = rows.Length == 1 ? id : $"{id}/{i}",
                    Classification = new Classification { PredictedClass = TapProcess.IrisClasses[UpstreamModelServer.IrisClass(rows[i][0])] },
                };
                for (var c = 0; c < 3; c++)
                {
                    e.Classification.ClassScores[TapProcess.IrisClasses[c]] = probabilities[(i * 3) + c];
                }

                for (var f = 0; f < 4; f++)
                {
                    // The tap reads FP32 data as the JSON carried it; an instrumented server would send the same doubles.
                    e.Features[TapProcess.IrisFeatures[f]] = rows[i][f];
                }

                events.Events.Add(e);
            }
        }

        Assert.Equal((ulong)events.Events.Count, (await instrumented.CreateMonitorClient().RecordPredictionsAsync(events)).Accepted);
        var fromTap = await TapProcess.WaitForTapEventsAsync(tapped, events.Events.Count);
        fromTap = await tapped.ScrapeAsync();
        var fromEvents = await instrumented.ScrapeAsync();

        var compared = 0;
        foreach (var sample in fromEvents.Samples.Where(s => s.Labels.GetValueOrDefault("model_name") == "iris" && !s.Name.StartsWith("ml_prediction_latency", StringComparison.Ordinal)))
        {
            var labels = sample.Labels.Where(l => l.Key != "otel_scope_name").Select(l => (l.Key, l.Value)).ToArray();
            var tapValue = fromTap.Find(sample.Name, labels);
            Assert.True(tapValue is not null, $"the tap has no {sample.Name}{{{string.Join(",", labels.Select(l => $"{l.Key}={l.Value}"))}}}");
            Assert.True(Math.Abs(tapValue!.Value - sample.Value) <= 1e-9 * Math.Max(1, Math.Abs(sample.Value)),
                $"{sample.Name}{{{string.Join(",", labels.Select(l => $"{l.Key}={l.Value}"))}}}: tap {tapValue.Value.ToString(CultureInfo.InvariantCulture)}, instrumented {sample.Value.ToString(CultureInfo.InvariantCulture)}");
            compared++;
        }

        Assert.True(compared > 100, $"only {compared} series compared");
    }
}

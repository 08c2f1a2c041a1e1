using System.Globalization;
using System.Net;
using System.Text;

namespace MlMonitoring.Sidecar.Tests.Tap;

/// <summary>How observation keeps its books when it falls behind, and what LLM output length feeds.</summary>
[Trait("Parts", "Real")]
public sealed class TapObservationTests
{
    [Fact]
    public async Task An_observer_that_falls_behind_or_a_full_memory_budget_skips_observations_never_calls_and_counts_every_one()
    {
        await using var upstream = await UpstreamModelServer.StartAsync();
        var (sidecar, tapHttp, _) = await TapProcess.StartAsync(
            upstream.HttpUrl, upstream.GrpcUrl, ("Monitoring__Tap__ObserverQueueCapacity", "1"), ("Monitoring__Tap__MaxCapturedBytes", "1048576"));
        await using var __ = sidecar;

        // 40,000 features a row: each call is a few hundred kilobytes for the observer to parse.
        var row = string.Join(",", Enumerable.Range(0, 40_000).Select(i => (i % 7 * 0.5).ToString(CultureInfo.InvariantCulture)));
        var body = $$"""{"inputs":[{"name":"features","shape":[1,40000],"datatype":"FP32","data":[{{row}}]}]}""";
        const int Calls = 200;
        using var http = new HttpClient();
        var statuses = await Task.WhenAll(Enumerable.Range(0, Calls).Select(async _ =>
        {
            using var response = await http.PostAsync(
                new Uri($"http://127.0.0.1:{tapHttp}/v2/models/iris/infer"), new StringContent(body, Encoding.UTF8, "application/json"));
            return response.StatusCode;
        }));

        Assert.All(statuses, status => Assert.Equal(HttpStatusCode.OK, status));
        // Every call is either an event or a counted skip; once the queue has drained, the books balance exactly.
        var metrics = await Eventually.ReturnsAsync(
            async () =>
            {
                var scraped = await sidecar.ScrapeAsync();
                var observed = scraped.Find("ml_sidecar_events_received_total", ("rpc", "tap")) ?? 0;
                var behind = scraped.Find("ml_sidecar_tap_skipped_total", ("reason", "observer_behind")) ?? 0;
                Assert.Equal(Calls, observed + behind);
                return scraped;
            },
            TimeSpan.FromSeconds(30),
            TimeSpan.FromMilliseconds(200));

        // A request whose copy did not fit in the 1 MiB budget is still observed from its answer.
        var overBudget = metrics.Find("ml_sidecar_tap_skipped_total", ("reason", "memory_budget")) ?? 0;
        Assert.True(overBudget <= Calls, $"{overBudget} bodies over the budget");
        // Everything held for observation is given back once the calls are observed or skipped.
        Assert.Equal(0, metrics.Value("ml_sidecar_tap_captured_bytes"));
    }

    [Fact]
    public async Task Llm_output_length_is_a_feature_that_drifts_against_the_versions_baseline()
    {
        await using var upstream = await UpstreamModelServer.StartAsync();
        var (sidecar, tapHttp, _) = await TapProcess.StartAsync(upstream.HttpUrl, upstream.GrpcUrl, ("Monitoring__Drift__BaselineSize", "20"), ("Monitoring__SnapshotReuse", "00:00:00"));
        await using var __ = sidecar;
        using var http = new HttpClient();
        async Task ChatAsync(int maxTokens)
        {
            using var response = await http.PostAsync(new Uri($"http://127.0.0.1:{tapHttp}/v1/chat/completions"), new StringContent(
                $$"""{"model":"tiny-llm","max_tokens":{{maxTokens}},"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // The baseline: answers of 3 to 5 tokens. Then the version starts answering in 1 or 2.
        for (var i = 0; i < 20; i++)
        {
            await ChatAsync(3 + (i % 3));
        }

        var before = await TapProcess.WaitForTapEventsAsync(sidecar, 20);
        Assert.Equal(20, before.Value("ml_drift_baseline_events", ("model_name", "tiny-llm"), ("model_version", "unknown")));
        for (var i = 0; i < 40; i++)
        {
            await ChatAsync(1 + (i % 2));
        }

        await TapProcess.WaitForTapEventsAsync(sidecar, 60);
        var after = await sidecar.ScrapeAsync();
        var psi = after.Value("ml_feature_drift", ("model_name", "tiny-llm"), ("model_version", "unknown"), ("feature_name", "output_tokens"), ("method", "psi"));
        Assert.True(psi > 0.25, $"PSI of output_tokens {psi}: output length shrank from 3-5 tokens to 1-2, past the drift alert's 0.25");
    }
}

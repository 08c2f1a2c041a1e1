using System.Globalization;
using System.Text;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Tap;

namespace MlMonitoring.Sidecar.Tests.Tap;

/// <summary>A time-to-first-token target of the SLO file is a bucket boundary, so its generated SLI is an exact ratio.</summary>
[Trait("Parts", "Real")]
public sealed class TimeToFirstTokenSloTests
{
    [Fact]
    public async Task The_slo_files_time_to_first_token_target_becomes_a_bucket_boundary_of_the_genai_histogram()
    {
        await using var upstream = await UpstreamModelServer.StartAsync();
        var (sidecar, tapHttp, _) = await TapProcess.StartAsync(
            upstream.HttpUrl, upstream.GrpcUrl, ("Monitoring__SloFile", Repository.PathOf("monitoring", "slo", "slo.yaml")));
        await using var __ = sidecar;

        using var http = new HttpClient();
        using var response = await http.PostAsync(new Uri($"http://127.0.0.1:{tapHttp}/v1/chat/completions"), new StringContent(
            """{"model":"chat_assistant","stream":true,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));
        Assert.EndsWith("data: [DONE]\n\n", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var metrics = await TapProcess.WaitForTapEventsAsync(sidecar, 1);
        var boundaries = metrics.All("gen_ai_server_time_to_first_token_seconds_bucket")
            .Select(s => s.Labels["le"]).Where(le => le != "+Inf").Select(le => double.Parse(le, CultureInfo.InvariantCulture)).ToList();
        // The conventions' sixteen boundaries, and the SLO file's 300 ms target among them.
        Assert.Equal([.. TimeToFirstTokenBoundaries.Recommended.Append(0.3).Order()], boundaries);
        Assert.Equal(1, metrics.Value("gen_ai_server_time_to_first_token_seconds_count",
            ("gen_ai_operation_name", "chat"), ("gen_ai_provider_name", "openai"), ("gen_ai_request_model", "chat_assistant"),
            ("gen_ai_response_model", "chat_assistant")));
    }
}

using System.Text.Json.Nodes;

namespace MlMonitoring.Sidecar.Tests.Tap;

/// <summary>
/// An OpenAI-compatible server that is never changed (the upstream standing in for vLLM), called through the tap by
/// the official <c>openai</c> npm client and by plain fetch, which checks the bytes are the server's own. LLM calls
/// must give the GenAI metrics and the seed's prediction metrics, exactly as many as the client made.
/// </summary>
[Trait("Parts", "Real")]
public sealed class OpenAiTapTests
{
    [Fact]
    public async Task Llm_calls_through_the_tap_give_the_genai_metrics_of_what_the_client_was_answered()
    {
        await using var upstream = await UpstreamModelServer.StartAsync();
        var (sidecar, tapHttp, _) = await TapProcess.StartAsync(upstream.HttpUrl, upstream.GrpcUrl);
        await using var __ = sidecar;

        var calls = (await RunClientsAsync($"http://127.0.0.1:{tapHttp}", upstream.HttpUrl))["calls"]!.AsArray()
            .Select(c => new Call(
                (string)c!["op"]!, (string)c["model"]!, (bool)c["stream"]!, (long?)c["input"], (long?)c["output"], (int?)c["chunks"],
                (string?)c["finish"], (string?)c["error"]))
            .ToList();
        var metrics = await TapProcess.WaitForTapEventsAsync(sidecar, calls.Count);

        foreach (var group in calls.GroupBy(c => (c.Op, c.Model, c.Error)))
        {
            (string, string)[] labels = [
                ("gen_ai_operation_name", group.Key.Op), ("gen_ai_provider_name", "openai"),
                ("gen_ai_request_model", group.Key.Model), ("gen_ai_response_model", group.Key.Model)];
            if (group.Key.Error is { } error)
            {
                labels = [.. labels, ("error_type", error)];
            }

            Assert.Equal(group.Count(), metrics.Value("gen_ai_server_request_duration_seconds_count", labels));
        }

        var chat = Labels("chat", "tiny-llm");
        var streamed = calls.Where(c => c.Op == "chat" && c.Stream && c.Error is null).ToList();
        Assert.Equal(streamed.Count, metrics.Value("gen_ai_server_time_to_first_token_seconds_count", chat));
        // The upstream waits 30 ms before its first token: none can have come sooner.
        Assert.Equal(0, metrics.Value("gen_ai_server_time_to_first_token_seconds_bucket", [.. chat, ("le", "0.02")]));
        Assert.Equal(streamed.Count, metrics.Value("gen_ai_server_time_per_output_token_seconds_count", chat));

        var reported = calls.Where(c => c.Op == "chat" && c.Output is not null).ToList();
        Assert.Equal(reported.Count, metrics.Value("gen_ai_client_token_usage_count", [.. chat, ("gen_ai_token_type", "output")]));
        Assert.Equal(reported.Sum(c => c.Output!.Value), metrics.Value("gen_ai_client_token_usage_sum", [.. chat, ("gen_ai_token_type", "output")]));
        Assert.Equal(calls.Where(c => c.Op == "chat" && c.Input is not null).Sum(c => c.Input!.Value),
            metrics.Value("gen_ai_client_token_usage_sum", [.. chat, ("gen_ai_token_type", "input")]));
        Assert.Equal(calls.Where(c => c.Op == "embeddings").Sum(c => c.Input!.Value),
            metrics.Value("gen_ai_client_token_usage_sum", [.. Labels("embeddings", "tiny-embed"), ("gen_ai_token_type", "input")]));

        foreach (var reason in calls.Where(c => c.Finish is not null).GroupBy(c => (c.Op, c.Finish)))
        {
            Assert.Equal(reason.Count(), metrics.Value("ml_llm_finish_reasons_total",
                ("gen_ai_operation_name", reason.Key.Op), ("gen_ai_request_model", "tiny-llm"), ("finish_reason", reason.Key.Finish!)));
        }

        // The same calls are prediction events of the seed's metrics: requests, errors, and output length as a feature.
        Assert.Equal(calls.Count(c => c.Model == "tiny-llm"),
            metrics.Value("ml_prediction_requests_total", ("model_name", "tiny-llm"), ("model_version", "unknown")));
        Assert.Equal(calls.Count(c => c.Error is not null), metrics.Value("ml_prediction_errors_total",
            ("model_name", "tiny-llm"), ("model_version", "unknown"), ("error_type", "stream_error"), ("error_kind", "server")));
        var lengths = calls.Where(c => c.Model == "tiny-llm" && c.Error is null).Select(c => (double)(c.Output ?? c.Chunks!.Value)).ToList();
        Assert.Equal(lengths.Count, metrics.Value("ml_feature_value",
            ("model_name", "tiny-llm"), ("model_version", "unknown"), ("feature_name", "output_tokens"), ("statistic", "count")));
        Assert.Equal(lengths.Average(), metrics.Value("ml_feature_value",
            ("model_name", "tiny-llm"), ("model_version", "unknown"), ("feature_name", "output_tokens"), ("statistic", "mean")), 1e-9);
    }

    private static (string, string)[] Labels(string operation, string model) =>
        [("gen_ai_operation_name", operation), ("gen_ai_provider_name", "openai"), ("gen_ai_request_model", model), ("gen_ai_response_model", model)];

    /// <summary>Runs the Node clients (Debian's node, the openai package that ./test.sh installs with npm ci).</summary>
    internal static async Task<JsonNode> RunClientsAsync(string tapBase, string directBase)
    {
        var folder = Repository.PathOf("tests", "MlMonitoring.Sidecar.Tests", "Tap", "Clients");
        if (!Directory.Exists(Path.Combine(folder, "node_modules", "openai")))
        {
            throw new Xunit.Sdk.XunitException($"the openai npm package is not installed in {folder}: ./test.sh installs it (npm ci --prefix {folder})");
        }

        var node = ExternalProcess.Require("node", "nodejs npm");
        var (exitCode, output) = await ExternalProcess.RunAsync(node, [Path.Combine(folder, "openai_clients.mjs"), tapBase, directBase], separateStderr: true);
        Assert.True(exitCode == 0, $"the openai clients failed (exit {exitCode}):\n{output}");
        return JsonNode.Parse(output)!;
    }

    private sealed record Call(string Op, string Model, bool Stream, long? Input, long? Output, int? Chunks, string? Finish, string? Error);
}

using System.Text.Json;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Tap.Protocols;

/// <summary>
/// OpenAI-compatible chat completions, completions and embeddings (vLLM, TGI, SGLang, NIM, Ollama), answered whole or
/// streamed as server-sent events. One call is one prediction event of the requested model, its token counts as the
/// features <c>input_tokens</c> and <c>output_tokens</c> (so that output length drifts against the version's
/// baseline like any feature), and one set of GenAI measurements.
/// </summary>
/// <remarks>
/// Tokens come from <c>usage</c>: the response's, or a stream's last chunk (<c>stream_options.include_usage</c>).
/// A stream without usage records no token usage (the conventions forbid guessing it); its output length, for the
/// output_tokens feature and time per output token, is the number of chunks that carried generated text.
/// </remarks>
internal static class OpenAiCompatible
{
    private static readonly byte[] DataPrefix = "data:"u8.ToArray();

    public static GenAiCall? Read(TappedCall call, ObservationContext context)
    {
        using var request = OpenInferenceRest.Parse(context.Observable(call.Request), null, context);
        var operation = call.Operation switch
        {
            TapOperation.ChatCompletions => "chat",
            TapOperation.Completions => "text_completion",
            _ => "embeddings",
        };
        var requestModel = OpenInferenceRest.StringOf(request, "model");
        var streamed = request is not null && request.RootElement.TryGetProperty("stream", out var stream) && stream.ValueKind == JsonValueKind.True;
        var failure = CallOutcome.FailureOf(call, grpc: false);

        var answer = new Answer();
        if (context.Observable(call.Response) is { } body)
        {
            var read = IsEventStream(body.Span) ? ReadStream(body, call, answer) : ReadWhole(body, answer);
            if (!read)
            {
                context.Skip(SkipReason.Unparsable);
            }
        }

        var model = requestModel ?? answer.Model;
        if (model is null)
        {
            return null;
        }

        var errorType = failure?.GenAiErrorType ?? (answer.StreamError ? "stream_error" : null);
        var events = context.Events;
        events.Start(1, model, context.VersionOf(model, null), call.Duration.TotalSeconds, call.PredictionIdHeader ?? answer.Id);
        if (failure is { } f)
        {
            events.Fail(f.Kind, f.ErrorType);
        }
        else if (answer.StreamError)
        {
            events.Fail(MlMonitoring.V1.ErrorKind.Server, "stream_error");
        }

        var outputTokens = answer.CompletionTokens ?? (streamed && answer.ContentChunks > 0 ? answer.ContentChunks : null);
        var e = events.Span[0];
        if (answer.PromptTokens is { } prompt)
        {
            e.Features.Set("input_tokens", prompt);
        }

        if (operation != "embeddings" && outputTokens is { } output && errorType is null)
        {
            e.Features.Set("output_tokens", output);
        }

        double? ttft = null;
        double? tpot = null;
        if (streamed && answer.FirstTokenAt != 0 && errorType is null)
        {
            ttft = call.SecondsUntil(answer.FirstTokenAt);
            if (outputTokens is > 1)
            {
                tpot = (call.Duration.TotalSeconds - ttft.Value) / (outputTokens.Value - 1);
            }
        }

        return new GenAiCall(
            operation, requestModel, answer.Model, call.Duration.TotalSeconds, errorType, ttft, tpot,
            answer.PromptTokens, operation == "embeddings" ? null : answer.CompletionTokens, answer.FinishReasons);
    }

    private static bool IsEventStream(ReadOnlySpan<byte> body)
    {
        var trimmed = body.TrimStart(" \r\n"u8);
        return trimmed.StartsWith(DataPrefix) || trimmed.StartsWith(":"u8) || trimmed.StartsWith("event:"u8);
    }

    private static bool ReadWhole(ReadOnlyMemory<byte> body, Answer answer)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            answer.Absorb(document.RootElement, 0);
            return document.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// Server-sent events: blank-line separated, <c>data:</c> lines joined, <c>[DONE]</c> at the end. An event's time is
    /// that of the write that completed it, so an event split across reads counts when its last byte came.
    /// </summary>
    private static bool ReadStream(ReadOnlyMemory<byte> body, TappedCall call, Answer answer)
    {
        var span = body.Span;
        var position = 0;
        var data = new List<byte>();
        while (position < span.Length)
        {
            var end = span[position..].IndexOf((byte)'\n');
            var lineEnd = end < 0 ? span.Length : position + end;
            var line = span[position..lineEnd].TrimEnd((byte)'\r');
            if (line.IsEmpty)
            {
                if (data.Count > 0 && !Dispatch(data, call.ResponseWrites.TimestampOf(lineEnd), answer))
                {
                    return false;
                }

                data.Clear();
            }
            else if (line.StartsWith(DataPrefix))
            {
                var value = line[DataPrefix.Length..];
                if (!value.IsEmpty && value[0] == (byte)' ')
                {
                    value = value[1..];
                }

                if (data.Count > 0)
                {
                    data.Add((byte)'\n');
                }

                data.AddRange(value);
            }

            position = lineEnd + 1;
        }

        // A stream cut short leaves a last event without its blank line.
        return data.Count == 0 || Dispatch(data, call.ResponseWrites.TimestampOf(span.Length - 1), answer);
    }

    private static bool Dispatch(List<byte> data, long arrived, Answer answer)
    {
        var payload = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(data);
        if (payload.SequenceEqual("[DONE]"u8))
        {
            return true;
        }

        try
        {
            using var chunk = JsonDocument.Parse(data.ToArray());
            answer.Absorb(chunk.RootElement, arrived);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>What the response said, whole or gathered chunk by chunk.</summary>
    private sealed class Answer
    {
        public string? Id { get; private set; }

        public string? Model { get; private set; }

        public long? PromptTokens { get; private set; }

        public long? CompletionTokens { get; private set; }

        public int ContentChunks { get; private set; }

        /// <summary><see cref="System.Diagnostics.Stopwatch"/> time of the first chunk with generated output; 0 before it.</summary>
        public long FirstTokenAt { get; private set; }

        public bool StreamError { get; private set; }

        public List<string>? FinishReasons { get; private set; }

        public void Absorb(JsonElement root, long arrived)
        {
            if (root.ValueKind != JsonValueKind.Object)
            {
                return;
            }

            if (root.TryGetProperty("error", out _) || (root.TryGetProperty("object", out var kind) && kind.ValueEquals("error")))
            {
                // Only a chunk of a stream (it has an arrival time) is an error inside a stream; a whole error answer
                // carries its status code, which says how the call failed.
                StreamError |= arrived != 0;
                return;
            }

            Id ??= String(root, "id");
            Model ??= String(root, "model");
            if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
            {
                PromptTokens = Number(usage, "prompt_tokens") ?? PromptTokens;
                CompletionTokens = Number(usage, "completion_tokens") ?? CompletionTokens;
            }

            if (!root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array)
            {
                return;
            }

            var generated = false;
            foreach (var choice in choices.EnumerateArray())
            {
                if (choice.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }

                generated |= HasOutput(choice);
                if (String(choice, "finish_reason") is { } reason)
                {
                    (FinishReasons ??= []).Add(reason);
                }
            }

            if (generated && arrived != 0)
            {
                ContentChunks++;
                if (FirstTokenAt == 0)
                {
                    FirstTokenAt = arrived;
                }
            }
        }

        private static bool HasOutput(JsonElement choice)
        {
            if (choice.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String && text.GetString()!.Length > 0)
            {
                return true;
            }

            if (!choice.TryGetProperty("delta", out var delta) || delta.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            return (delta.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String && content.GetString()!.Length > 0)
                || (delta.TryGetProperty("reasoning_content", out var reasoning) && reasoning.ValueKind == JsonValueKind.String && reasoning.GetString()!.Length > 0)
                || (delta.TryGetProperty("tool_calls", out var tools) && tools.ValueKind == JsonValueKind.Array && tools.GetArrayLength() > 0);
        }

        private static string? String(JsonElement element, string property) =>
            element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

        private static long? Number(JsonElement element, string property) =>
            element.TryGetProperty(property, out var value) && value.TryGetInt64(out var number) ? number : null;
    }
}

using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MlMonitoring.Inference.V2;

namespace MlMonitoring.Sidecar.Tests.Tap;

/// <summary>
/// Stands in for model servers that are never changed: Triton or MLServer (Open Inference Protocol over REST and
/// gRPC), a KServe v1 predictor, and vLLM (OpenAI-compatible, streamed and not). It answers as the protocols'
/// specifications say, deterministically, so that a call made directly and one made through the tap get the same
/// bytes. Its models:
/// <list type="bullet">
/// <item><c>iris</c> (v2, version 3): input <c>features</c> FP32 [n, 4]; outputs <c>label</c> INT64 [n] (the class
/// index, <c>floor(x0) mod 3</c>) and <c>probabilities</c> FP32 [n, 3] (0.8 on the class, 0.1 elsewhere).</item>
/// <item><c>slow</c>: answers as iris after <see cref="SlowModelDelay"/>.</item>
/// <item><c>broken</c>: 500 over REST, INTERNAL over gRPC; <c>picky</c>: 400, INVALID_ARGUMENT.</item>
/// <item><c>churn</c> (v1): instances [a, b]; prediction 1 when a &gt; b, else 0.</item>
/// <item>Chat and text completions answer the words "token0 token1 ..." up to <c>max_tokens</c> (default 5: finish
/// <c>length</c> past 5 asked, else <c>stop</c>); a prompt with "fail-midway" breaks the stream after two tokens, one with "slowly" takes 300 ms a token.</item>
/// </list>
/// </summary>
[Trait("Parts", "Real")]
public sealed class UpstreamModelServer : IAsyncDisposable
{
    /// <summary>Tokens a completion has when max_tokens does not cut it.</summary>
    public const int NaturalLength = 5;

    private readonly WebApplication _app;

    private UpstreamModelServer(WebApplication app, int httpPort, int grpcPort)
    {
        _app = app;
        HttpPort = httpPort;
        GrpcPort = grpcPort;
    }

    public int HttpPort { get; }

    public int GrpcPort { get; }

    public string HttpUrl => $"http://127.0.0.1:{HttpPort}";

    public string GrpcUrl => $"http://127.0.0.1:{GrpcPort}";

    /// <summary>Pause before the first generated token of a stream: the time to first token the tap should see.</summary>
    public static TimeSpan FirstTokenDelay { get; } = TimeSpan.FromMilliseconds(30);

    /// <summary>How long the <c>slow</c> model takes to answer.</summary>
    public static TimeSpan SlowModelDelay { get; } = TimeSpan.FromSeconds(4);

    public static async Task<UpstreamModelServer> StartAsync()
    {
        var httpPort = FreePort.Next();
        var grpcPort = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, httpPort, listen => listen.Protocols = HttpProtocols.Http1);
            kestrel.Listen(IPAddress.Loopback, grpcPort, listen => listen.Protocols = HttpProtocols.Http2);
        });
        builder.Services.AddGrpc();
        var app = builder.Build();
        app.MapGrpcService<InferenceService>();
        app.MapGet("/v2/health/ready", () => Results.Ok());
        app.MapGet("/metrics", () => Results.Text("# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running 0\n", "text/plain; version=0.0.4"));
        app.MapPost("/v2/models/{model}/infer", (string model, HttpContext context) => InferRestAsync(model, null, context));
        app.MapPost("/v2/models/{model}/versions/{version}/infer", (string model, string version, HttpContext context) => InferRestAsync(model, version, context));
        app.MapPost("/v1/models/{model}:predict", PredictV1Async);
        app.MapPost("/v1/chat/completions", context => CompleteAsync(context, chat: true));
        app.MapPost("/v1/completions", context => CompleteAsync(context, chat: false));
        app.MapPost("/v1/embeddings", EmbedAsync);
        await app.StartAsync();
        return new UpstreamModelServer(app, httpPort, grpcPort);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>The class index iris answers for a row whose first feature is <paramref name="x0"/>.</summary>
    public static int IrisClass(double x0) => (int)(Math.Floor(x0) % 3 + 3) % 3;

    private static async Task InferRestAsync(string model, string? version, HttpContext context)
    {
        var request = await JsonNode.ParseAsync(context.Request.Body);
        if (model == "slow")
        {
            await Task.Delay(SlowModelDelay, context.RequestAborted);
        }

        if (model is "broken" or "picky")
        {
            context.Response.StatusCode = model == "broken" ? 500 : 400;
            await context.Response.WriteAsJsonAsync(new JsonObject { ["error"] = model == "broken" ? "model failed" : "bad input" });
            return;
        }

        var input = request!["inputs"]!.AsArray().First(i => (string?)i!["name"] == "features")!;
        var rows = (int)input["shape"]![0]!.GetValue<long>();
        var data = Flatten(input["data"]!).ToArray();
        var width = data.Length / rows;
        var labels = new JsonArray();
        var probabilities = new JsonArray();
        for (var i = 0; i < rows; i++)
        {
            var label = IrisClass(data[i * width]);
            labels.Add(label);
            for (var c = 0; c < 3; c++)
            {
                probabilities.Add(c == label ? 0.8 : 0.1);
            }
        }

        var response = new JsonObject
        {
            ["model_name"] = model,
            ["model_version"] = version ?? "3",
            ["id"] = (string?)request["id"] ?? "",
            ["outputs"] = new JsonArray(
                new JsonObject { ["name"] = "label", ["datatype"] = "INT64", ["shape"] = new JsonArray(rows), ["data"] = labels },
                new JsonObject { ["name"] = "probabilities", ["datatype"] = "FP32", ["shape"] = new JsonArray(rows, 3), ["data"] = probabilities }),
        };
        await context.Response.WriteAsJsonAsync(response);
    }

    private static async Task PredictV1Async(string model, HttpContext context)
    {
        var request = await JsonNode.ParseAsync(context.Request.Body);
        var predictions = new JsonArray();
        foreach (var instance in request!["instances"]!.AsArray())
        {
            predictions.Add(instance![0]!.GetValue<double>() > instance[1]!.GetValue<double>() ? 1 : 0);
        }

        await context.Response.WriteAsJsonAsync(new JsonObject { ["predictions"] = predictions });
    }

    private static async Task EmbedAsync(HttpContext context)
    {
        var request = await JsonNode.ParseAsync(context.Request.Body);
        var input = (string?)request!["input"] ?? "";
        var words = input.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        await context.Response.WriteAsJsonAsync(new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray(new JsonObject { ["object"] = "embedding", ["index"] = 0, ["embedding"] = new JsonArray(0.25, -0.5, 0.125) }),
            ["model"] = (string?)request["model"],
            ["usage"] = new JsonObject { ["prompt_tokens"] = words, ["total_tokens"] = words },
        });
    }

    private static async Task CompleteAsync(HttpContext context, bool chat)
    {
        var request = await JsonNode.ParseAsync(context.Request.Body);
        var model = (string?)request!["model"] ?? "";
        var prompt = chat
            ? string.Join(" ", request["messages"]!.AsArray().Select(m => (string?)m!["content"] ?? ""))
            : (string?)request["prompt"] ?? "";
        var promptTokens = prompt.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        var maxTokens = (int?)request["max_tokens"] ?? NaturalLength;
        var length = Math.Min(maxTokens, NaturalLength);
        var finish = maxTokens < NaturalLength ? "length" : "stop";
        var id = (chat ? "chatcmpl-" : "cmpl-") + (context.Request.Headers["x-request-id"].FirstOrDefault() ?? promptTokens.ToString(CultureInfo.InvariantCulture));
        var kind = chat ? "chat.completion" : "text_completion";
        var usage = new JsonObject { ["prompt_tokens"] = promptTokens, ["completion_tokens"] = length, ["total_tokens"] = promptTokens + length };

        if ((bool?)request["stream"] != true)
        {
            var text = string.Join(" ", Enumerable.Range(0, length).Select(i => $"token{i}"));
            var choice = chat
                ? new JsonObject { ["index"] = 0, ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = text }, ["finish_reason"] = finish }
                : new JsonObject { ["index"] = 0, ["text"] = text, ["finish_reason"] = finish };
            await context.Response.WriteAsJsonAsync(new JsonObject
            {
                ["id"] = id, ["object"] = kind, ["created"] = 1_700_000_000, ["model"] = model, ["choices"] = new JsonArray(choice), ["usage"] = usage,
            });
            return;
        }

        context.Response.ContentType = "text/event-stream";
        var chunkKind = chat ? "chat.completion.chunk" : "text_completion";
        JsonObject Chunk(JsonNode? delta, string? finishReason) => new()
        {
            ["id"] = id, ["object"] = chunkKind, ["created"] = 1_700_000_000, ["model"] = model,
            ["choices"] = new JsonArray(chat
                ? new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = finishReason }
                : new JsonObject { ["index"] = 0, ["text"] = (string?)delta?["content"] ?? "", ["finish_reason"] = finishReason }),
        };

        if (chat)
        {
            // vLLM's first chunk carries the role and no text yet.
            await SendAsync(context, Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }, null), split: false);
        }

        await Task.Delay(FirstTokenDelay);
        for (var i = 0; i < length; i++)
        {
            if (i == 2 && prompt.Contains("fail-midway", StringComparison.Ordinal))
            {
                await SendAsync(context, new JsonObject { ["error"] = new JsonObject { ["message"] = "engine died", ["type"] = "internal_error", ["code"] = 500 } }, split: false);
                return;
            }

            // Every other event arrives in two writes, as an event split across TCP reads would.
            await SendAsync(context, Chunk(new JsonObject { ["content"] = i == 0 ? "token0" : $" token{i}" }, i == length - 1 ? finish : null), split: i % 2 == 1);
            await Task.Delay(prompt.Contains("slowly", StringComparison.Ordinal) ? 300 : 5);
        }

        var includeUsage = (bool?)request["stream_options"]?["include_usage"] == true;
        if (includeUsage)
        {
            await SendAsync(context, new JsonObject
            {
                ["id"] = id, ["object"] = chunkKind, ["created"] = 1_700_000_000, ["model"] = model, ["choices"] = new JsonArray(), ["usage"] = usage,
            }, split: false);
        }

        await context.Response.WriteAsync("data: [DONE]\n\n");
        await context.Response.Body.FlushAsync();
    }

    private static async Task SendAsync(HttpContext context, JsonObject chunk, bool split)
    {
        var bytes = Encoding.UTF8.GetBytes($"data: {chunk.ToJsonString()}\n\n");
        if (split)
        {
            var half = bytes.Length / 2;
            await context.Response.Body.WriteAsync(bytes.AsMemory(0, half));
            await context.Response.Body.FlushAsync();
            await Task.Delay(2);
            await context.Response.Body.WriteAsync(bytes.AsMemory(half));
        }
        else
        {
            await context.Response.Body.WriteAsync(bytes);
        }

        await context.Response.Body.FlushAsync();
    }

    private static IEnumerable<double> Flatten(JsonNode node) =>
        node is JsonArray array ? array.SelectMany(item => Flatten(item!)) : [node.GetValue<double>()];

    /// <summary>The Open Inference Protocol's gRPC service, answering as <see cref="InferRestAsync"/> does.</summary>
    private sealed class InferenceService : GRPCInferenceService.GRPCInferenceServiceBase
    {
        public override Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context) =>
            Task.FromResult(new ServerLiveResponse { Live = true });

        public override Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context)
        {
            if (request.ModelName is "broken" or "picky")
            {
                throw new RpcException(request.ModelName == "broken"
                    ? new Grpc.Core.Status(StatusCode.Internal, "model failed")
                    : new Grpc.Core.Status(StatusCode.InvalidArgument, "bad input"));
            }

            var input = request.Inputs.Single(i => i.Name == "features");
            var rows = (int)input.Shape[0];
            var raw = request.RawInputContents.Count > 0;
            var data = raw
                ? Enumerable.Range(0, request.RawInputContents[0].Length / 4).Select(i => (double)BitConverter.ToSingle(request.RawInputContents[0].Span[(i * 4)..])).ToArray()
                : input.Contents.Fp32Contents.Select(v => (double)v).ToArray();
            var width = data.Length / rows;
            var label = new ModelInferResponse.Types.InferOutputTensor { Name = "label", Datatype = "INT64", Shape = { rows }, Contents = new InferTensorContents() };
            var probabilities = new ModelInferResponse.Types.InferOutputTensor { Name = "probabilities", Datatype = "FP32", Shape = { rows, 3 }, Contents = new InferTensorContents() };
            for (var i = 0; i < rows; i++)
            {
                var c = IrisClass(data[i * width]);
                label.Contents.Int64Contents.Add(c);
                probabilities.Contents.Fp32Contents.Add(Enumerable.Range(0, 3).Select(k => k == c ? 0.8f : 0.1f));
            }

            return Task.FromResult(new ModelInferResponse
            {
                ModelName = request.ModelName,
                ModelVersion = string.IsNullOrEmpty(request.ModelVersion) ? "3" : request.ModelVersion,
                Id = request.Id,
                Outputs = { label, probabilities },
            });
        }
    }
}

// The tap's overhead, measured from the client's side: an upstream that answers at once (serve), and a client that
// calls it directly or through the tap (load) and reports what it saw as JSON. bench/run.sh runs both, side by side.
//
//   serve --http-port P --grpc-port Q
//   load --target URL --kind rest|grpc|stream [--rate N (open loop) | --concurrency C (closed loop)] --duration S
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using MlMonitoring.Inference.V2;

var options = new Dictionary<string, string>();
for (var i = 1; i + 1 < args.Length; i += 2)
{
    options[args[i].TrimStart('-')] = args[i + 1];
}

string Option(string name, string fallback) => options.GetValueOrDefault(name, fallback);
int Number(string name, int fallback) => int.Parse(Option(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

if (args.FirstOrDefault() == "serve")
{
    await Upstream.ServeAsync(Number("http-port", 8000), Number("grpc-port", 8001));
    return 0;
}

var target = Option("target", "http://127.0.0.1:8000");
var result = Option("kind", "rest") switch
{
    "stream" => await Load.StreamAsync(target, Number("calls", 200)),
    var kind => await Load.RunAsync(target, kind, Number("rate", 0), Number("concurrency", 16), Number("duration", 10)),
};
Console.WriteLine(JsonSerializer.Serialize(result, LoadJson.Default.LoadResult));
return 0;

/// <summary>A model server that answers at once: a small v2 REST answer, a small gRPC one, and a short SSE stream.</summary>
internal static class Upstream
{
    public static readonly byte[] RestAnswer = Encoding.UTF8.GetBytes(
        """{"model_name":"iris","model_version":"1","outputs":[{"name":"label","datatype":"INT64","shape":[1],"data":[2]}]}""");

    public static async Task ServeAsync(int httpPort, int grpcPort)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, httpPort, l => l.Protocols = HttpProtocols.Http1);
            kestrel.Listen(IPAddress.Loopback, grpcPort, l => l.Protocols = HttpProtocols.Http2);
        });
        builder.Services.AddGrpc();
        var app = builder.Build();
        app.MapGrpcService<Inference>();
        app.MapGet("/v2/health/ready", () => Results.Ok());
        app.MapPost("/v2/models/{model}/infer", async context =>
        {
            await context.Request.Body.CopyToAsync(Stream.Null);
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(RestAnswer);
        });
        app.MapPost("/v1/chat/completions", async context =>
        {
            await context.Request.Body.CopyToAsync(Stream.Null);
            context.Response.ContentType = "text/event-stream";
            for (var i = 0; i < 8; i++)
            {
                var chunk = $"data: {{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"t{i}\"}},\"finish_reason\":{(i == 7 ? "\"stop\"" : "null")}}}]}}\n\n";
                await context.Response.WriteAsync(chunk);
                await context.Response.Body.FlushAsync();
            }

            await context.Response.WriteAsync("data: [DONE]\n\n");
        });
        await app.RunAsync();
    }

    private sealed class Inference : GRPCInferenceService.GRPCInferenceServiceBase
    {
        private static readonly ModelInferResponse Answer = new()
        {
            ModelName = "iris",
            ModelVersion = "1",
            Outputs = { new ModelInferResponse.Types.InferOutputTensor { Name = "label", Datatype = "INT64", Shape = { 1 }, Contents = new InferTensorContents { Int64Contents = { 2 } } } },
        };

        public override Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context) => Task.FromResult(Answer);
    }
}

/// <summary>The client: open loop at a rate, or closed loop flat out.</summary>
internal static class Load
{
    private static readonly byte[] RestRequest = Encoding.UTF8.GetBytes(
        """{"id":"b","inputs":[{"name":"features","shape":[1,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2]}]}""");

    private static readonly ModelInferRequest GrpcRequest = new()
    {
        ModelName = "iris",
        Id = "b",
        Inputs = { new ModelInferRequest.Types.InferInputTensor { Name = "features", Datatype = "FP32", Shape = { 1, 4 }, Contents = new InferTensorContents { Fp32Contents = { 5.1f, 3.5f, 1.4f, 0.2f } } } },
    };

    public static async Task<LoadResult> RunAsync(string target, string kind, int rate, int concurrency, int seconds)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = 512 }) { BaseAddress = new Uri(target) };
        using var channel = GrpcChannel.ForAddress(target, new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true } });
        var grpc = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        Func<Task> call = kind == "grpc"
            ? async () => await grpc.ModelInferAsync(GrpcRequest)
            : async () =>
            {
                using var content = new ByteArrayContent(RestRequest);
                content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
                using var response = await http.PostAsync(new Uri("/v2/models/iris/infer", UriKind.Relative), content);
                response.EnsureSuccessStatusCode();
                await response.Content.CopyToAsync(Stream.Null);
            };

        // Warm-up: connections, JIT and the tap's pools, unmeasured; a fixed number of calls, so that a server's CPU
        // time over a run is the measured calls' and these few.
        for (var i = 0; i < 250; i++)
        {
            await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => call()));
        }

        return rate > 0 ? await OpenLoopAsync(call, rate, seconds) : await ClosedLoopAsync(call, concurrency, seconds);
    }

    private static async Task<LoadResult> OpenLoopAsync(Func<Task> call, int rate, int seconds)
    {
        var total = rate * seconds;
        var latencies = new double[total];
        var tasks = new List<Task>(total);
        var clock = Stopwatch.StartNew();
        var errors = 0;
        for (var i = 0; i < total;)
        {
            var due = (long)(clock.Elapsed.TotalSeconds * rate);
            for (; i < total && i <= due; i++)
            {
                // Timed from its own start: the sender wakes every millisecond or so, and the time a call waited
                // for the sender is the benchmark's, not the server's (at 1,000 calls/s nothing queues behind a call).
                var index = i;
                tasks.Add(Timed(index));
            }

            await Task.Delay(1);
        }

        await Task.WhenAll(tasks);
        var elapsed = clock.Elapsed.TotalSeconds;
        Array.Sort(latencies);

        async Task Timed(int index)
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                await call();
            }
            catch (Exception e) when (e is HttpRequestException or RpcException)
            {
                Interlocked.Increment(ref errors);
            }

            latencies[index] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }
        return new LoadResult(total, elapsed, total / elapsed, Percentile(latencies, 0.5), Percentile(latencies, 0.99), errors);
    }

    private static async Task<LoadResult> ClosedLoopAsync(Func<Task> call, int concurrency, int seconds)
    {
        var cpu = Environment.CpuUsage.TotalTime;
        var clock = Stopwatch.StartNew();
        var end = TimeSpan.FromSeconds(seconds);
        var counts = new int[concurrency];
        var errors = 0;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async worker =>
        {
            while (clock.Elapsed < end)
            {
                try
                {
                    await call();
                    counts[worker]++;
                }
                catch (Exception e) when (e is HttpRequestException or RpcException)
                {
                    Interlocked.Increment(ref errors);
                }
            }
        }));
        var elapsed = clock.Elapsed.TotalSeconds;
        var calls = counts.Sum();
        return new LoadResult(calls, elapsed, calls / elapsed, 0, 0, errors, (Environment.CpuUsage.TotalTime - cpu).TotalSeconds);
    }

    /// <summary>Time to the first generated text of streamed chat completions, one after another, from the client's side.</summary>
    public static async Task<LoadResult> StreamAsync(string target, int calls)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri(target) };
        var body = Encoding.UTF8.GetBytes("""{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        var firstTokens = new List<double>();
        for (var i = 0; i < calls + 20; i++)
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/v1/chat/completions", UriKind.Relative)) { Content = content };
            var clock = Stopwatch.StartNew();
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            double? first = null;
            while (await reader.ReadLineAsync() is { } line)
            {
                if (first is null && line.Contains("\"content\":\"t", StringComparison.Ordinal))
                {
                    first = clock.Elapsed.TotalMilliseconds;
                }
            }

            if (i >= 20)
            {
                firstTokens.Add(first ?? double.NaN);
            }
        }

        var sorted = firstTokens.Order().ToArray();
        return new LoadResult(calls, 0, 0, Percentile(sorted, 0.5), Percentile(sorted, 0.99), sorted.Count(double.IsNaN));
    }

    private static double Percentile(double[] sorted, double q) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
}

/// <summary>
/// What a load run saw: calls, seconds, calls per second, latency (or time to first token) p50 and p99 in ms, errors;
/// flat out, also the client's own CPU time over the measured calls.
/// </summary>
internal sealed record LoadResult(
    [property: System.Text.Json.Serialization.JsonPropertyName("calls")] int Calls,
    [property: System.Text.Json.Serialization.JsonPropertyName("seconds")] double Seconds,
    [property: System.Text.Json.Serialization.JsonPropertyName("calls_per_second")] double CallsPerSecond,
    [property: System.Text.Json.Serialization.JsonPropertyName("p50_ms")] double P50Ms,
    [property: System.Text.Json.Serialization.JsonPropertyName("p99_ms")] double P99Ms,
    [property: System.Text.Json.Serialization.JsonPropertyName("errors")] int Errors,
    [property: System.Text.Json.Serialization.JsonPropertyName("client_cpu_seconds")] double ClientCpuSeconds = 0);

[System.Text.Json.Serialization.JsonSerializable(typeof(LoadResult))]
internal sealed partial class LoadJson : System.Text.Json.Serialization.JsonSerializerContext;

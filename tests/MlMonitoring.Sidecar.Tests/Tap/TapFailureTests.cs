using System.Net;
using System.Text;
using Grpc.Core;
using Grpc.Net.Client;
using MlMonitoring.Inference.V2;

namespace MlMonitoring.Sidecar.Tests.Tap;

/// <summary>What clients get through the tap when the model server is down, slow, or the client leaves.</summary>
[Trait("Parts", "Real")]
public sealed class TapFailureTests
{
    private const string IrisRequest = """{"inputs":[{"name":"features","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}""";

    [Fact]
    public async Task An_upstream_that_is_down_answers_502_and_unavailable_with_the_cause_and_counts_server_errors()
    {
        var closed = $"http://127.0.0.1:{FreePort.Next()}";
        var (sidecar, tapHttp, tapGrpc) = await TapProcess.StartAsync(closed, closed);
        await using var _ = sidecar;
        sidecar.Logs.Expected.Add("The tap could not forward a call");

        await AssertInferAnswersAsync(tapHttp, "iris", HttpStatusCode.BadGateway, "upstream unavailable: Connection refused");

        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{tapGrpc}");
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await new GRPCInferenceService.GRPCInferenceServiceClient(channel).ModelInferAsync(new ModelInferRequest { ModelName = "iris" }));
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Contains("upstream unavailable: Connection refused", error.Status.Detail, StringComparison.Ordinal);

        var metrics = await TapProcess.WaitForTapEventsAsync(sidecar, 2);
        Assert.Equal(2, metrics.Value("ml_prediction_errors_total",
            ("model_name", "iris"), ("model_version", "unknown"), ("error_type", "upstream_unavailable"), ("error_kind", "server")));
        // The 502 is the tap's own answer, not a model's response that could not be read.
        Assert.Empty(metrics.All("ml_sidecar_tap_skipped_total"));
    }

    /// <summary>
    /// A client that half-closes its connection once its request is sent (shutdown(SHUT_WR)) gets the model's answer
    /// through the tap, as it does directly and through any proxy, and the call is observed.
    /// </summary>
    [Fact]
    public async Task A_client_that_half_closes_after_its_request_gets_the_answer_and_the_call_is_observed()
    {
        await using var upstream = await UpstreamModelServer.StartAsync();
        var (sidecar, tapHttp, _) = await TapProcess.StartAsync(upstream.HttpUrl, upstream.GrpcUrl);
        await using var __ = sidecar;
        var body = Encoding.UTF8.GetBytes(IrisRequest);
        var request = Encoding.ASCII.GetBytes($"POST /v2/models/iris/infer HTTP/1.1\r\nHost: tap\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n")
            .Concat(body).ToArray();

        for (var i = 0; i < 20; i++)
        {
            using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            await socket.ConnectAsync(IPAddress.Loopback, tapHttp);
            await socket.SendAsync(request, System.Net.Sockets.SocketFlags.None);
            socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);

            // The tap answers, then ends the connection: the client said it would send nothing more.
            using var answer = new MemoryStream();
            var buffer = new byte[4096];
            int read;
            while ((read = await socket.ReceiveAsync(buffer, System.Net.Sockets.SocketFlags.None)) > 0)
            {
                answer.Write(buffer, 0, read);
            }

            var text = Encoding.UTF8.GetString(answer.ToArray());
            Assert.StartsWith("HTTP/1.1 200", text, StringComparison.Ordinal);
            Assert.Contains("\"outputs\"", text, StringComparison.Ordinal);
        }

        var metrics = await TapProcess.WaitForTapEventsAsync(sidecar, 20);
        Assert.Equal(20, metrics.All("ml_prediction_requests_total").Where(s => s.Labels["model_name"] == "iris").Sum(s => s.Value));
        Assert.Empty(metrics.All("ml_sidecar_tap_skipped_total"));
    }

    /// <summary>
    /// A thousand clients that send a whole v2 REST request and leave 0 to 2 ms later (a third of them half-closing
    /// first): every call the tap took is either observed or counted skipped with its reason, none lost from the counts.
    /// </summary>
    [Fact]
    public async Task Every_call_of_clients_that_leave_early_is_observed_or_counted_skipped()
    {
        await using var upstream = await UpstreamModelServer.StartAsync();
        var (sidecar, tapHttp, _) = await TapProcess.StartAsync(upstream.HttpUrl, upstream.GrpcUrl);
        await using var __ = sidecar;
        // Kestrel's own word on a connection whose client half-closed and reset it while its request was read.
        sidecar.Logs.Expected.Add("Connection processing ended abnormally");
        var body = Encoding.UTF8.GetBytes(IrisRequest);
        var request = Encoding.ASCII.GetBytes($"POST /v2/models/iris/infer HTTP/1.1\r\nHost: tap\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n")
            .Concat(body).ToArray();
        var random = new Random(7);

        const int Clients = 1_000;
        var leaving = Enumerable.Range(0, Clients).Select(i => (Wait: random.Next(3), HalfClose: i % 3 == 0)).ToArray();
        await Parallel.ForEachAsync(leaving, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (client, ct) =>
        {
            using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            await socket.ConnectAsync(IPAddress.Loopback, tapHttp, ct);
            await socket.SendAsync(request, System.Net.Sockets.SocketFlags.None, ct);
            if (client.HalfClose)
            {
                socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
            }

            await Task.Delay(client.Wait, ct);
            socket.Close(0);
        });

        await Eventually.AssertAsync(
            async () =>
            {
                // A client that resets its connection before Kestrel has read its request never made a call.
                var metrics = await sidecar.ScrapeAsync();
                var calls = metrics.Value("ml_sidecar_tap_calls_total", ("operation", "v2_infer"));
                Assert.InRange(calls, 1, Clients);
                var observed = metrics.All("ml_prediction_requests_total").Sum(s => s.Value);
                var skipped = metrics.All("ml_sidecar_tap_skipped_total").Sum(s => s.Value);
                Assert.Equal(calls, observed + skipped);
                Assert.Null(metrics.Find("ml_sidecar_tap_skipped_total", ("reason", "unparsable")));
            },
            TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task An_upstream_silent_past_the_timeout_answers_504_and_counts_a_timeout()
    {
        await using var upstream = await UpstreamModelServer.StartAsync();
        var (sidecar, tapHttp, _) = await TapProcess.StartAsync(upstream.HttpUrl, upstream.GrpcUrl, ("Monitoring__Tap__UpstreamTimeout", "00:00:01"));
        await using var __ = sidecar;
        sidecar.Logs.Expected.Add("The tap could not forward a call");

        await AssertInferAnswersAsync(tapHttp, "slow", HttpStatusCode.GatewayTimeout, "upstream timed out");

        var metrics = await TapProcess.WaitForTapEventsAsync(sidecar, 1);
        Assert.Equal(1, metrics.Value("ml_prediction_errors_total",
            ("model_name", "slow"), ("model_version", "unknown"), ("error_type", "upstream_timeout"), ("error_kind", "timeout")));
    }

    [Fact]
    public async Task A_client_that_leaves_mid_stream_is_counted_and_the_tap_serves_the_next_call()
    {
        await using var upstream = await UpstreamModelServer.StartAsync();
        var (sidecar, tapHttp, _) = await TapProcess.StartAsync(upstream.HttpUrl, upstream.GrpcUrl);
        await using var __ = sidecar;
        var url = new Uri($"http://127.0.0.1:{tapHttp}/v1/chat/completions");
        const string Slow = """{"model":"tiny-llm","stream":true,"messages":[{"role":"user","content":"answer slowly"}]}""";
        const string Body = """{"model":"tiny-llm","stream":true,"messages":[{"role":"user","content":"hi"}]}""";

        // No draining of the rest of the response on dispose (the handler's default): the client leaves at once.
        using (var leaving = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }))
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(Slow, Encoding.UTF8, "application/json") };
            using var response = await leaving.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            await using var stream = await response.Content.ReadAsStreamAsync();
            var first = new byte[16];
            Assert.True(await stream.ReadAsync(first) > 0);
        }

        // Disposing the response mid-stream drops the connection; the tap counts the observation it gave up.
        await Eventually.AssertAsync(
            async () => Assert.NotNull((await sidecar.ScrapeAsync()).Find("ml_sidecar_tap_skipped_total", ("reason", "client_disconnected"))),
            pause: TimeSpan.FromMilliseconds(100));

        using var http = new HttpClient();
        using var next = await http.PostAsync(url, new StringContent(Body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.EndsWith("data: [DONE]\n\n", await next.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var metrics = await TapProcess.WaitForTapEventsAsync(sidecar, 1);
        Assert.Equal(1, metrics.Value("ml_sidecar_tap_skipped_total", ("reason", "client_disconnected")));
    }

    /// <summary>A v2 REST call through the tap gets <paramref name="status"/> with <paramref name="cause"/> in its body.</summary>
    private static async Task AssertInferAnswersAsync(int tapPort, string model, HttpStatusCode status, string cause)
    {
        using var http = new HttpClient();
        using var response = await http.PostAsync(
            new Uri($"http://127.0.0.1:{tapPort}/v2/models/{model}/infer"), new StringContent(IrisRequest, Encoding.UTF8, "application/json"));
        Assert.Equal(status, response.StatusCode);
        Assert.Contains(cause, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}

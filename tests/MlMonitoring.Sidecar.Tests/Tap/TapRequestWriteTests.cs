using System.Net;
using System.Net.Sockets;
using System.Text;
using Grpc.Net.Client;
using MlMonitoring.Inference.V2;

namespace MlMonitoring.Sidecar.Tests.Tap;

/// <summary>
/// What the tap's one-write forwarding of an arrived body (ArrivedBodyTests) leaves as YARP does it: a body still on
/// its way reaches the model server headers first, so that the model server can start on it; a gRPC call's request
/// body limits are YARP's to lift.
/// </summary>
[Trait("Parts", "Real")]
public sealed class TapRequestWriteTests
{
    private const string IrisRequest = """{"inputs":[{"name":"features","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}""";
    private const string IrisAnswer = """{"model_name":"iris","outputs":[{"name":"label","shape":[1],"datatype":"BYTES","data":["setosa"]}]}""";

    [Fact]
    public async Task A_request_whose_body_is_still_coming_has_its_headers_forwarded_at_once()
    {
        await using var upstream = RawUpstream.Start();
        var (sidecar, tapHttp, _) = await TapProcess.StartAsync(upstream.Url, upstream.Url);
        await using var __ = sidecar;

        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, tapHttp);
        var stream = client.GetStream();
        var body = Encoding.UTF8.GetBytes(IrisRequest);
        var head = Encoding.ASCII.GetBytes(
            $"POST /v2/models/iris/infer HTTP/1.1\r\nHost: 127.0.0.1:{tapHttp}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n");
        await stream.WriteAsync(head);
        await stream.WriteAsync(body.AsMemory(0, 10));

        // Nothing more comes from the client until the model server has seen the request's headers.
        var accepted = upstream.ServeOneAsync();
        await upstream.HeadersSeen.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.False(accepted.IsCompleted);
        await stream.WriteAsync(body.AsMemory(10));

        var request = await accepted;
        Assert.EndsWith("\r\n\r\n" + IrisRequest, request, StringComparison.Ordinal);
        var answer = await RawHttp.ReadUntilAsync(stream, IrisAnswer);
        Assert.StartsWith("HTTP/1.1 200 OK", answer, StringComparison.Ordinal);
        Assert.EndsWith(IrisAnswer, answer, StringComparison.Ordinal);
    }

    /// <summary>A model server on a bare socket, which shows when the request's bytes arrive.</summary>
    [Fact]
    public async Task A_grpc_call_through_the_tap_leaves_yarp_free_to_lift_the_request_body_limits_of_a_stream()
    {
        await using var upstream = await UpstreamModelServer.StartAsync();
        // YARP's warnings shown: it warns when the request body has been started before it could lift the limits.
        var (sidecar, _, tapGrpc) = await TapProcess.StartAsync(upstream.HttpUrl, upstream.GrpcUrl, ("Logging__LogLevel__Yarp", "Warning"));
        await using var __ = sidecar;

        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{tapGrpc}");
        var request = new ModelInferRequest
        {
            ModelName = "iris",
            Inputs =
            {
                new ModelInferRequest.Types.InferInputTensor
                {
                    Name = "features", Datatype = "FP32", Shape = { 1, 4 }, Contents = new InferTensorContents { Fp32Contents = { 5.1f, 3.5f, 1.4f, 0.2f } },
                },
            },
        };
        var answer = await new GRPCInferenceService.GRPCInferenceServiceClient(channel).ModelInferAsync(request);

        Assert.Equal("iris", answer.ModelName);
        await TapProcess.WaitForTapEventsAsync(sidecar, 1);
        // Disposing the sidecar fails the test on any warning it logged.
    }

    private sealed class RawUpstream : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly TaskCompletionSource _headersSeen = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private RawUpstream(TcpListener listener) => _listener = listener;

        public string Url => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

        /// <summary>Completes once the reads so far hold the end of the request's headers.</summary>
        public Task HeadersSeen => _headersSeen.Task;

        public static RawUpstream Start()
        {
            var listener = new TcpListener(IPAddress.Loopback, FreePort.Next());
            listener.Start();
            return new RawUpstream(listener);
        }

        /// <summary>Accepts one connection, reads one request (Content-Length framed), answers it and returns it.</summary>
        public async Task<string> ServeOneAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            using var connection = await _listener.AcceptTcpClientAsync(timeout.Token);
            var stream = connection.GetStream();
            var buffer = new byte[64 * 1024];
            var received = new StringBuilder();
            while (!Complete(received.ToString()))
            {
                var read = await stream.ReadAsync(buffer, timeout.Token);
                Assert.True(read > 0, $"the tap closed the connection after: {received}");
                received.Append(Encoding.UTF8.GetString(buffer, 0, read));
                if (received.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    _headersSeen.TrySetResult();
                }
            }

            var answer = Encoding.UTF8.GetBytes(IrisAnswer);
            await stream.WriteAsync(Encoding.ASCII.GetBytes(
                $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {answer.Length}\r\n\r\n"), timeout.Token);
            await stream.WriteAsync(answer, timeout.Token);
            return received.ToString();
        }

        public ValueTask DisposeAsync()
        {
            _listener.Stop();
            _listener.Dispose();
            return ValueTask.CompletedTask;
        }

        private static bool Complete(string request)
        {
            var end = request.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end < 0)
            {
                return false;
            }

            var length = request[..end].Split("\r\n")
                .Where(line => line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                .Select(line => int.Parse(line["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture))
                .Single();
            return Encoding.UTF8.GetByteCount(request[(end + 4)..]) >= length;
        }
    }
}

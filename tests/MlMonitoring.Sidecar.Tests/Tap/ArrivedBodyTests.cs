using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MlMonitoring.Sidecar.Tap;
using Yarp.ReverseProxy.Forwarder;

namespace MlMonitoring.Sidecar.Tests.Tap;

/// <summary>
/// The request the tap forwards, as the connection to the model server is asked to send it: YARP's own forwarding
/// flushes the headers before the body; with a body that has already arrived, headers and body go out in one write.
/// </summary>
public sealed class ArrivedBodyTests
{
    private const string Body = """{"inputs":[{"name":"features","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}""";

    [Fact]
    public async Task Yarp_alone_flushes_the_headers_before_the_body()
    {
        var (operations, _) = await ForwardAsync(HttpTransformer.Empty);

        Assert.Equal("flush", operations[0]);
        Assert.Equal(Body, string.Concat(operations.Where(o => o.StartsWith("write:", StringComparison.Ordinal)).Select(o => o["write:".Length..])));
    }

    [Fact]
    public async Task A_body_that_has_arrived_is_written_before_anything_is_flushed_with_its_content_headers()
    {
        var (operations, content) = await ForwardAsync(ArrivedBody.Transformer);

        Assert.Equal("write:" + Body, operations[0]);
        Assert.Equal(["write:" + Body], operations.Where(o => o != "flush"));
        Assert.Equal(Encoding.UTF8.GetByteCount(Body), content.ContentLength);
        Assert.Equal("application/json", content.ContentType?.MediaType);
    }

    [Fact]
    public async Task Kestrel_tells_a_body_that_has_arrived_from_one_still_coming_and_from_none()
    {
        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = Directory.CreateTempSubdirectory("mlmon-host-").FullName });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenLocalhost(port));
        await using var app = builder.Build();
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        app.Run(async context =>
        {
            var arrived = ArrivedBody.HasArrived(context.Request);
            asked.TrySetResult();
            // Asking did not consume the body: all of it is still there to read.
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            await context.Response.WriteAsync($"{arrived}:{body}");
        });
        await app.StartAsync();

        using var http = new HttpClient();
        using var whole = await http.PostAsync($"http://localhost:{port}/", new StringContent(Body, Encoding.UTF8, "application/json"));
        Assert.Equal($"True:{Body}", await whole.Content.ReadAsStringAsync());
        Assert.Equal("False:", await http.GetStringAsync($"http://localhost:{port}/"));

        asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        var bytes = Encoding.UTF8.GetBytes(Body);
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: {bytes.Length}\r\n\r\n"));
        await stream.WriteAsync(bytes.AsMemory(0, 10));
        // The rest of the body is sent only once the server has asked.
        await asked.Task.WaitAsync(TimeSpan.FromSeconds(20));
        await stream.WriteAsync(bytes.AsMemory(10));

        Assert.Contains($"False:{Body}", await RawHttp.ReadUntilAsync(stream, Body), StringComparison.Ordinal);
    }

    /// <summary>Forwards one POST with <see cref="Body"/> through YARP's forwarder and the tap's handler to a recording connection.</summary>
    private static async Task<(List<string> Operations, System.Net.Http.Headers.HttpContentHeaders Content)> ForwardAsync(HttpTransformer transformer)
    {
        await using var services = new ServiceCollection().AddLogging().AddHttpForwarder().BuildServiceProvider();
        var connection = new RecordingConnection();
        using var client = new HttpMessageInvoker(new ArrivedBody.Handler(connection));
        var bytes = Encoding.UTF8.GetBytes(Body);
        var context = new DefaultHttpContext { RequestServices = services };
        context.Request.Method = HttpMethods.Post;
        context.Request.Path = "/v2/models/iris/infer";
        context.Request.ContentType = "application/json";
        context.Request.ContentLength = bytes.Length;
        context.Request.Body = new MemoryStream(bytes);
        context.Response.Body = new MemoryStream();

        var error = await services.GetRequiredService<IHttpForwarder>().SendAsync(
            context, "http://127.0.0.1:1", client, ForwarderRequestConfig.Empty, transformer);

        Assert.Equal(ForwarderError.None, error);
        Assert.Equal(StatusCodes.Status200OK, context.Response.StatusCode);
        return (connection.Operations, connection.ContentHeaders!);
    }

    /// <summary>Stands in for the connection to the model server: records what the request's content asks of its stream.</summary>
    private sealed class RecordingConnection : HttpMessageHandler
    {
        public List<string> Operations { get; } = [];

        public System.Net.Http.Headers.HttpContentHeaders? ContentHeaders { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            ContentHeaders = request.Content!.Headers;
            await request.Content.CopyToAsync(new RecordingStream(Operations), cancellationToken);
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("{}") };
        }
    }

    private sealed class RecordingStream(List<string> operations) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => operations.Add("flush");

        public override Task FlushAsync(CancellationToken cancellationToken)
        {
            Flush();
            return Task.CompletedTask;
        }

        public override void Write(byte[] buffer, int offset, int count) => operations.Add("write:" + Encoding.UTF8.GetString(buffer, offset, count));

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            operations.Add("write:" + Encoding.UTF8.GetString(buffer.Span));
            return ValueTask.CompletedTask;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}

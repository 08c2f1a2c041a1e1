using System.IO.Pipelines;
using Microsoft.AspNetCore.Http.Features;
using System.Net;
using Yarp.ReverseProxy.Forwarder;

namespace MlMonitoring.Sidecar.Tap;

/// <summary>
/// Sends a forwarded HTTP/1.x request's headers together with its body when the whole body had already reached the tap, where
/// YARP alone writes the headers first and the body after: two TCP segments, so two wake-ups of the model server and
/// one more send here, on every call.
/// </summary>
/// <remarks>
/// YARP flushes the headers before it copies a request body so that an upstream can start on a request whose body is
/// still coming (uploads, client-streamed gRPC). Once the body has arrived in full there is nothing to start early
/// on: its bytes follow at once. Only then is the headers' flush dropped; a body still on its way is forwarded exactly
/// as YARP forwards it. YARP does not let a transformer replace its request content, so the transformer marks the
/// request and the handler under the forwarder's client wraps the content on its way to the connection.
/// </remarks>
internal static class ArrivedBody
{
    private static readonly HttpRequestOptionsKey<bool> Arrived = new("MlMonitoring.Tap.ArrivedBody");

    /// <summary>The transformer for a call whose body <see cref="HasArrived"/>: YARP's header copy, and the mark.</summary>
    public static HttpTransformer Transformer { get; } = new MarkingTransformer();

    /// <summary>
    /// Whether an HTTP/1.x request's body has been received in full already. Must be asked before anything replaces
    /// <c>Request.Body</c>: it looks into the server's own buffer without consuming it. HTTP/2 requests (gRPC) are
    /// not looked into: looking starts the body, after which YARP can no longer lift Kestrel's request body limits for
    /// a streamed call.
    /// </summary>
    public static bool HasArrived(HttpRequest request)
    {
        if (!HttpProtocol.IsHttp11(request.Protocol) && !HttpProtocol.IsHttp10(request.Protocol))
        {
            return false;
        }

        if (request.ContentLength == 0 || request.HttpContext.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == false)
        {
            return false;
        }

        // A request already aborted (its client reset the connection) has no body left to look into.
        if (request.HttpContext.RequestAborted.IsCancellationRequested)
        {
            return false;
        }

        var reader = request.BodyReader;
        ReadResult result;
        try
        {
            if (!reader.TryRead(out result))
            {
                return false;
            }
        }
        catch (Exception e) when (e is BadHttpRequestException or IOException or OperationCanceledException)
        {
            // The client cut its request short or reset the connection. Its request is over: aborted here, so that
            // Kestrel does not try to drain a body reader left mid-read, and the forwarder reports (and the tap
            // counts) a client that left.
            request.HttpContext.Abort();
            return false;
        }

        reader.AdvanceTo(result.Buffer.Start);
        return result.IsCompleted && !result.IsCanceled;
    }

    /// <summary>The handler that wraps a marked request's content; it goes between the client and its connections.</summary>
    public sealed class Handler(HttpMessageHandler connections) : DelegatingHandler(connections)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Content is { } content && request.Options.TryGetValue(Arrived, out var arrived) && arrived)
            {
                request.Content = new ArrivedBodyContent(content);
            }

            return base.SendAsync(request, cancellationToken);
        }
    }

    private sealed class MarkingTransformer : HttpTransformer
    {
        public override ValueTask TransformRequestAsync(
            HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
        {
            proxyRequest.Options.Set(Arrived, true);
            return base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
        }
    }

    /// <summary>YARP's request content, serialized through a stream that lets the headers wait for the body.</summary>
    private sealed class ArrivedBodyContent : HttpContent
    {
        private readonly HttpContent _forwarded;

        public ArrivedBodyContent(HttpContent forwarded)
        {
            _forwarded = forwarded;
            foreach (var header in forwarded.Headers)
            {
                Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        // The token is handed on unchanged: YARP tells HTTP/1.1 from HTTP/2 by it.
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
            _forwarded.CopyToAsync(new HeadersWaitForBodyStream(stream), context, cancellationToken);

        protected override bool TryComputeLength(out long length)
        {
            // The Content-Length header, copied from the client's request, says it; without one the body goes chunked.
            length = -1;
            return false;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _forwarded.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    /// <summary>The connection's request stream, minus any flush that comes before the first byte of the body.</summary>
    private sealed class HeadersWaitForBodyStream(Stream connection) : Stream
    {
        private bool _written;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _written = true;
            return connection.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _written = true;
            connection.Write(buffer);
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override Task FlushAsync(CancellationToken cancellationToken) =>
            _written ? connection.FlushAsync(cancellationToken) : Task.CompletedTask;

        public override void Flush()
        {
            if (_written)
            {
                connection.Flush();
            }
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}

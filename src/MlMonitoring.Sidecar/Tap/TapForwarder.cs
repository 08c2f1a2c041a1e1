using System.Diagnostics;
using System.Net;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;
using Yarp.ReverseProxy.Forwarder;

namespace MlMonitoring.Sidecar.Tap;

/// <summary>
/// Forwards every call that reaches a tap listener to the model server with YARP's forwarder, bytes streamed through
/// as they come. A call the tap understands is copied on the way (bounded, see <see cref="BodyCapture"/>) and handed
/// to the <see cref="TapObserver"/> once it has ended; forwarding never waits on observation.
/// </summary>
internal sealed partial class TapForwarder : IDisposable
{
    private readonly IHttpForwarder _forwarder;
    private readonly TapOptions _options;
    private readonly TapMetrics _metrics;
    private readonly ChannelWriter<TappedCall> _observer;
    private readonly ILogger<TapForwarder> _logger;
    private readonly HttpMessageInvoker _http;
    private readonly HttpMessageInvoker _grpc;
    private readonly ForwarderRequestConfig _httpConfig;
    private readonly ForwarderRequestConfig _grpcConfig;
    private readonly string? _upstream;
    private readonly string? _grpcUpstream;
    private readonly CaptureBudget _budget;

    public TapForwarder(
        IHttpForwarder forwarder, IOptions<TapOptions> options, TapMetrics metrics, TapObserverQueue queue, CaptureBudget budget, ILogger<TapForwarder> logger)
    {
        _budget = budget;
        _forwarder = forwarder;
        _options = options.Value;
        _metrics = metrics;
        _observer = queue.Writer;
        _logger = logger;
        _upstream = _options.Upstream?.TrimEnd('/');
        _grpcUpstream = _options.GrpcUpstream?.TrimEnd('/');
        // Only HTTP/1.x requests are sent with their arrived bodies in one write (ArrivedBody); gRPC goes as YARP sends it.
        _http = new HttpMessageInvoker(new ArrivedBody.Handler(CreateConnections()));
        _grpc = new HttpMessageInvoker(CreateConnections());
        _httpConfig = new ForwarderRequestConfig { ActivityTimeout = _options.UpstreamTimeout };
        // The model server's gRPC port speaks HTTP/2 without TLS: prior knowledge, never a downgrade.
        _grpcConfig = new ForwarderRequestConfig
        {
            ActivityTimeout = _options.UpstreamTimeout,
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    /// <summary>Forwards one call that reached the HTTP (<paramref name="grpc"/> false) or the gRPC listener.</summary>
    public async Task ForwardAsync(HttpContext context, bool grpc)
    {
        var request = context.Request;
        var (operation, model, version) = TapRoutes.Recognize(request.Method, request.Path.Value ?? "/", grpc, _options.Protocol);
        _metrics.CountCall(operation);
        var destination = grpc ? _grpcUpstream! : _upstream!;
        var client = grpc ? _grpc : _http;
        var config = grpc ? _grpcConfig : _httpConfig;

        var transformer = ArrivedBody.HasArrived(request) ? ArrivedBody.Transformer : HttpTransformer.Empty;
        if (operation == TapOperation.None)
        {
            var passed = await _forwarder.SendAsync(context, destination, client, config, transformer);
            try
            {
                await ExplainAsync(context, passed, grpc);
            }
            catch (Exception e) when (IsClientGone(e))
            {
                // The client left before the tap's own answer could reach it.
            }

            return;
        }

        var call = new TappedCall(operation, model, version, _options.MaxObservedBodyBytes, _budget, Stopwatch.GetTimestamp());
        if (request.Headers.TryGetValue(_options.PredictionIdHeader, out var id) && id.Count > 0)
        {
            call.PredictionIdHeader = id[0];
        }

        try
        {
            call.Request.ReadHeaders(request.Headers);
            request.Body = new CapturingReadStream(request.Body, call.Request);
            context.Features.Set<IHttpResponseBodyFeature>(new CapturingResponseBodyFeature(
                context.Features.GetRequiredFeature<IHttpResponseBodyFeature>(), call.Response, call.ResponseWrites));
            var error = await _forwarder.SendAsync(context, destination, client, config, transformer);
            call.Ended = Stopwatch.GetTimestamp();
            if ((error is ForwarderError.Request or ForwarderError.RequestTimedOut) && call.Request.Length == 0 && !call.Request.GaveUp)
            {
                // The upstream never took the request, so its body was not read: read it now (up to the bound) for the
                // model it names, so that the failure is counted under that model.
                await ReadUnsentBodyAsync(request.Body, call.Request, context.RequestAborted);
            }

            await ExplainAsync(context, error, grpc);
            if (error != ForwarderError.None)
            {
                // What the client got is the tap's own answer, or a cut-off one: not the model's, nothing to read.
                call.Response.Release();
            }

            call.Error = error;
            call.StatusCode = context.Response.StatusCode;
            call.Response.ReadHeaders(context.Response.Headers);
            if (grpc)
            {
                call.GrpcStatus = GrpcStatusOf(context);
            }

            if (ClientLeft(context, error))
            {
                Skip(call, SkipReason.ClientDisconnected);
            }
            else if (!_observer.TryWrite(call))
            {
                Skip(call, SkipReason.ObserverBehind);
            }
        }
        catch (Exception e) when (IsClientGone(e))
        {
            // The client left while the tap answered it (its own 502, say): counted like any client that left.
            Skip(call, SkipReason.ClientDisconnected);
        }
        catch
        {
            // Whatever failed, the copies go back to the pool and their bytes to the budget.
            call.Release();
            throw;
        }
    }

    private static bool IsClientGone(Exception e) => e is IOException or OperationCanceledException or BadHttpRequestException;

    public void Dispose()
    {
        _http.Dispose();
        _grpc.Dispose();
    }

    private void Skip(TappedCall call, SkipReason reason)
    {
        _metrics.CountSkipped(reason);
        call.Release();
    }

    /// <summary>
    /// A call the upstream never answered gets what a client would get from an unreachable server behind a proxy:
    /// 502 (504 after the timeout) with the cause in the body, or over gRPC UNAVAILABLE (DEADLINE_EXCEEDED) with the
    /// cause in <c>grpc-message</c>.
    /// </summary>
    private async Task ExplainAsync(HttpContext context, ForwarderError error, bool grpc)
    {
        if (error == ForwarderError.None)
        {
            return;
        }

        if (ClientLeft(context, error))
        {
            // The client went away: nothing to answer, and nothing wrong on this side (counted, not logged).
            return;
        }

        var cause = Innermost(context.GetForwarderErrorFeature()?.Exception)?.Message;
        var timedOut = error == ForwarderError.RequestTimedOut;
        LogForwardingFailed(_logger, error, context.Request.Path.Value ?? "/", cause ?? "");
        if (context.Response.HasStarted)
        {
            return;
        }

        var answer = timedOut
            ? $"upstream timed out: no answer within {_options.UpstreamTimeout.TotalSeconds:0.###} s (Monitoring:Tap:UpstreamTimeout)"
            : $"upstream unavailable: {cause ?? error.ToString()}";
        if (grpc)
        {
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["grpc-status"] = timedOut ? "4" : "14";
            context.Response.Headers["grpc-message"] = Uri.EscapeDataString(answer);
            return;
        }

        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync(answer + "\n");
    }

    private static async Task ReadUnsentBodyAsync(Stream body, BodyCapture capture, CancellationToken cancellationToken)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            while (!capture.GaveUp && await body.ReadAsync(buffer, cancellationToken) > 0)
            {
                // The capturing stream keeps what is read.
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or BadHttpRequestException)
        {
            // The client is gone too; the failure is counted without a model if none was read.
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Whether the call ended because the client went away, not because of the upstream.</summary>
    private static bool ClientLeft(HttpContext context, ForwarderError error) =>
        context.RequestAborted.IsCancellationRequested
        || error is ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.RequestBodyClient
            or ForwarderError.ResponseBodyCanceled or ForwarderError.ResponseBodyClient
            or ForwarderError.UpgradeRequestCanceled or ForwarderError.UpgradeRequestClient
            or ForwarderError.UpgradeResponseCanceled or ForwarderError.UpgradeResponseClient;

    private static Exception? Innermost(Exception? exception)
    {
        while (exception?.InnerException is not null)
        {
            exception = exception.InnerException;
        }

        return exception;
    }

    private static int GrpcStatusOf(HttpContext context)
    {
        var trailers = context.Features.Get<IHttpResponseTrailersFeature>()?.Trailers;
        var value = trailers is not null && trailers.TryGetValue("grpc-status", out var trailer) ? trailer.ToString()
            : context.Response.Headers.TryGetValue("grpc-status", out var header) ? header.ToString()
            : null;
        return int.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var status) ? status : -1;
    }

    private static SocketsHttpHandler CreateConnections() => new()
    {
        // Bytes pass through as the model server sent them: no proxy, redirects, cookies or decompression of its own.
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        EnableMultipleHttp2Connections = true,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
        ActivityHeadersPropagator = null,
    };

    [LoggerMessage(EventId = 60, EventName = "TapForwardingFailed", Level = LogLevel.Warning, Message = "The tap could not forward a call ({Error}) to {Path}: {Cause}")]
    private static partial void LogForwardingFailed(ILogger logger, ForwarderError error, string path, string cause);
}

/// <summary>The queue between the forwarding path and the observer: bounded, never waited on by the forwarder.</summary>
internal sealed class TapObserverQueue(IOptions<TapOptions> options)
{
    private readonly Channel<TappedCall> _channel = Channel.CreateBounded<TappedCall>(
        new BoundedChannelOptions(options.Value.ObserverQueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    public ChannelWriter<TappedCall> Writer => _channel.Writer;

    public ChannelReader<TappedCall> Reader => _channel.Reader;
}

using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Security;

/// <summary>
/// Requires <c>authorization: Bearer &lt;token&gt;</c> on gRPC calls (and on <c>/metrics</c> when asked) once a token
/// file is configured, which it must be when the ingest endpoint listens beyond loopback. Others get
/// UNAUTHENTICATED (gRPC) or 401 (HTTP). The gRPC health check stays open: kubelet probes send no token.
/// </summary>
internal sealed class BearerTokenMiddleware(RequestDelegate next, IOptions<SecurityOptions> options)
{
    private const string HealthCheckPath = "/grpc.health.v1.Health/";

    private readonly byte[]? _token = ReadToken(options.Value);
    private readonly bool _protectMetrics = options.Value.ProtectMetrics;

    public Task InvokeAsync(HttpContext context)
    {
        if (_token is null)
        {
            return next(context);
        }

        var isGrpc = context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) ?? false;
        var path = context.Request.Path.Value ?? "";
        var needsToken = isGrpc ? !path.StartsWith(HealthCheckPath, StringComparison.Ordinal) : _protectMetrics && path == "/metrics";
        if (!needsToken || Authorized(context.Request.Headers.Authorization.ToString()))
        {
            return next(context);
        }

        if (isGrpc)
        {
            // A trailers-only gRPC response: status 16, no message body.
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["grpc-status"] = "16";
            context.Response.Headers["grpc-message"] = "UNAUTHENTICATED: send 'authorization: Bearer <token>'";
            return Task.CompletedTask;
        }

        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = "Bearer";
        return Task.CompletedTask;
    }

    private bool Authorized(string header)
    {
        const string Scheme = "Bearer ";
        if (!header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        // Constant time: how much of a guess matched must not show in how long the refusal takes.
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[Scheme.Length..].Trim()), _token);
    }

    private static byte[]? ReadToken(SecurityOptions security) =>
        string.IsNullOrEmpty(security.TokenFile) ? null : Encoding.UTF8.GetBytes(File.ReadAllText(security.TokenFile).Trim());
}

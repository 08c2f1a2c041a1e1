using Microsoft.Extensions.Configuration.Memory;

namespace MlMonitoring.Sidecar.Hosting;

/// <summary>
/// The settings the sidecar cannot work without, compiled in as the lowest-priority configuration source: a
/// process started from any folder, by a systemd unit, a script or an image with another working directory, has
/// the same endpoints and protocols. Environment variables and the command line override them one by one
/// (<c>Kestrel__Endpoints__Grpc__Url</c> moves the gRPC endpoint and keeps it HTTP/2).
/// </summary>
public static class SidecarDefaults
{
    /// <summary>The default gRPC endpoint: loopback, the model server in the same pod is the only caller.</summary>
    public const string GrpcUrl = "http://127.0.0.1:50051";

    /// <summary>The default endpoint of <c>/metrics</c> and the probes, reached by Prometheus and the kubelet.</summary>
    public const string HttpUrl = "http://0.0.0.0:9464";

    /// <summary>The compiled-in settings, as configuration keys.</summary>
    public static IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
    {
        // gRPC needs HTTP/2; without TLS, Kestrel only speaks it on an endpoint that allows nothing else.
        ["Kestrel:Endpoints:Grpc:Url"] = GrpcUrl,
        ["Kestrel:Endpoints:Grpc:Protocols"] = "Http2",
        ["Kestrel:Endpoints:Http:Url"] = HttpUrl,
        ["Kestrel:Endpoints:Http:Protocols"] = "Http1",
        ["Logging:LogLevel:Default"] = "Information",
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        // A probe answered Unhealthy (stopping) or Degraded (shared state down) is the probe's answer, not an error of
        // its own: the cause is logged once where it happens, not again at every probe.
        ["Logging:LogLevel:Microsoft.Extensions.Diagnostics.HealthChecks"] = "Critical",
        // The tap logs a call it could not forward once, with its cause; the forwarder's own warning (with a stack
        // trace) would say it again.
        ["Logging:LogLevel:Yarp"] = "Error",
    };

    /// <summary>Puts <see cref="Settings"/> under every other configuration source.</summary>
    public static IConfigurationBuilder AddSidecarDefaults(this IConfigurationBuilder configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = Settings });
        return configuration;
    }
}

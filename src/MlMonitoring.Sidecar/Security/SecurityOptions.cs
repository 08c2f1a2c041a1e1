using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Security;

/// <summary>Settings under <c>Monitoring:Security</c>.</summary>
public sealed class SecurityOptions
{
    /// <summary>The configuration section these settings are bound from.</summary>
    public const string SectionName = "Monitoring:Security";

    /// <summary>
    /// A file holding the bearer token callers must send (a mounted Kubernetes Secret). Required when the gRPC
    /// endpoint listens beyond loopback.
    /// </summary>
    public string? TokenFile { get; set; }

    /// <summary>Require the token on <c>/metrics</c> too (Prometheus then sends it with <c>authorization</c>).</summary>
    public bool ProtectMetrics { get; set; }
}

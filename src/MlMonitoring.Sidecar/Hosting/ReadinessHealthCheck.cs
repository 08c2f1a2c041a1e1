using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace MlMonitoring.Sidecar.Hosting;

/// <summary>
/// Ready while the host runs; not ready from the moment it starts stopping, so that Kubernetes and gRPC health
/// clients stop sending before the process exits.
/// </summary>
internal sealed class ReadinessHealthCheck(IHostApplicationLifetime lifetime) : IHealthCheck
{
    /// <summary>The tag of checks that decide readiness.</summary>
    public const string Tag = Core.Probes.ReadinessTag;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(lifetime.ApplicationStopping.IsCancellationRequested
            ? HealthCheckResult.Unhealthy("stopping")
            : lifetime.ApplicationStarted.IsCancellationRequested
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy("starting"));
}

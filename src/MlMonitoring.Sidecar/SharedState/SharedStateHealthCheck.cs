using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace MlMonitoring.Sidecar.SharedState;

/// <summary>
/// Readiness detail of the shared state: Degraded, not Unhealthy, while it fails — predictions are still counted, so
/// the pod should keep receiving traffic; the detail and <c>ml_sidecar_shared_state_up</c> say that labels may not join.
/// </summary>
internal sealed class SharedStateHealthCheck(SharedStateHealth health) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(health.IsHealthy
            ? HealthCheckResult.Healthy("shared state up")
            : HealthCheckResult.Degraded("shared state unavailable: predictions are counted, labels may not join until it recovers"));
}

namespace MlMonitoring.Sidecar.Core;

/// <summary>The health-check tags the probes select by.</summary>
internal static class Probes
{
    /// <summary>Checks that decide readiness (<c>/readyz</c> and <c>grpc.health.v1</c>): any capability may add one.</summary>
    public const string ReadinessTag = "ready";
}

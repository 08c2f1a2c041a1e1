using MlMonitoring.Testing;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Tests.Infrastructure;

/// <summary>The sidecar's contract over a started process: the shared fixtures know no contract of their own.</summary>
public static class SidecarProcessClients
{
    /// <summary>A client of <c>mlmonitoring.v1.PredictionMonitor</c> on the process's gRPC port.</summary>
    public static PredictionMonitor.PredictionMonitorClient CreateMonitorClient(this SidecarProcess sidecar) => new(sidecar.Channel);
}

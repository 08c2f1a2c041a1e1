using Grpc.Health.V1;
using Grpc.HealthCheck;

namespace MlMonitoring.Sidecar.Hosting;

/// <summary>
/// Turns gRPC health NOT_SERVING the moment the host starts stopping. Check calls already see it through
/// <see cref="ReadinessHealthCheck"/>; open Watch streams only see what is pushed to them, and a client balancing
/// over Watch must hear of the shutdown before the connection closes, not after.
/// </summary>
internal sealed class ShutdownHealthNotifier(IHostApplicationLifetime lifetime, HealthServiceImpl health) : IHostedService
{
    private CancellationTokenRegistration _registration;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // "" is the whole server, the one service the health checks are mapped to.
        _registration = lifetime.ApplicationStopping.Register(
            () => health.SetStatus(string.Empty, HealthCheckResponse.Types.ServingStatus.NotServing));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _registration.Dispose();
        return Task.CompletedTask;
    }
}

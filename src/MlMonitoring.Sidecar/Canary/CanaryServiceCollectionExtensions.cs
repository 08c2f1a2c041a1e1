namespace MlMonitoring.Sidecar.Canary;

/// <summary>Registers the canary pairing that Prometheus' verdict rules read.</summary>
internal static class CanaryServiceCollectionExtensions
{
    public static IServiceCollection AddCanaryPairing(this IServiceCollection services) =>
        services.AddHostedService<CanaryPairing>();
}

using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Canary;

/// <summary>Registers the canary pairing that Prometheus' verdict rules read.</summary>
internal static class CanaryServiceCollectionExtensions
{
    /// <summary>Exports which version a candidate is judged against, and the margins (<c>Monitoring:Canary</c>).</summary>
    public static IServiceCollection AddCanaryPairing(this IServiceCollection services)
    {
        services.AddOptions<CanaryOptions>()
            .BindConfiguration(CanaryOptions.SectionName)
            .ValidateWithAllSettings<CanaryOptions, CanaryOptionsValidator>(CanaryOptions.SectionName);
        return services.AddHostedService<CanaryPairing>();
    }
}

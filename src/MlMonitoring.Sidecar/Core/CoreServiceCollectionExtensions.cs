using Microsoft.Extensions.DependencyInjection.Extensions;

namespace MlMonitoring.Sidecar.Core;

/// <summary>Registers what every capability shares: the shared settings, the per-model-version state and the self-metrics.</summary>
internal static class CoreServiceCollectionExtensions
{
    /// <summary>
    /// Binds <see cref="MonitoringOptions"/> to the root of the <c>Monitoring</c> section, validated at start with
    /// every capability's settings, and adds the registry of per-model-version state, the self-metrics and the clock.
    /// </summary>
    public static IServiceCollection AddMonitoringCore(this IServiceCollection services)
    {
        services.AddOptions<MonitoringOptions>()
            .BindConfiguration(MonitoringOptions.SectionName)
            .ValidateWithAllSettings<MonitoringOptions, MonitoringOptionsValidator>(MonitoringOptions.SectionName);

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SidecarMetrics>();
        // The seed's buckets, unless the SLO capability adds its targets to them.
        services.TryAddSingleton<LatencyBoundaries>();
        services.TryAddSingleton<ModelVersionRegistry>();
        return services;
    }
}

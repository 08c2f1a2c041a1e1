using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace MlMonitoring.Sidecar.Core;

/// <summary>Registers what every capability shares: the validated options, the per-model-version state and the self-metrics.</summary>
internal static class CoreServiceCollectionExtensions
{
    /// <summary>
    /// Binds <see cref="MonitoringOptions"/> to the <c>Monitoring</c> section, validated when the host starts, and
    /// adds the registry of per-model-version state, the self-metrics and the clock.
    /// </summary>
    public static IServiceCollection AddMonitoringCore(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<MonitoringOptions>()
            .Bind(configuration.GetSection(MonitoringOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MonitoringOptions>, MonitoringOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MonitoringOptions>, BucketBoundariesValidator>());
        // A native sidecar gets little time once the model container is gone: stop within Monitoring:ShutdownTimeout.
        services.AddOptions<HostOptions>().Configure<IOptions<MonitoringOptions>>((host, monitoring) => host.ShutdownTimeout = monitoring.Value.ShutdownTimeout);

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SidecarMetrics>();
        // The seed's buckets, unless the SLO capability adds its targets to them.
        services.TryAddSingleton<LatencyBoundaries>();
        services.TryAddSingleton<ModelVersionRegistry>();
        return services;
    }
}

using Microsoft.Extensions.DependencyInjection.Extensions;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Slo;

/// <summary>Registers the SLOs of <c>Monitoring:SloFile</c>: their latency targets as bucket boundaries, and their status.</summary>
internal static class SloServiceCollectionExtensions
{
    public static IServiceCollection AddSlo(this IServiceCollection services)
    {
        services.AddOptions<SloOptions>()
            .BindConfiguration(SloOptions.SectionName)
            .ValidateWithAllSettings<SloOptions, SloOptionsValidator>(SloOptions.SectionName);
        services.TryAddSingleton<SloCatalog>();
        services.TryAddSingleton<SloStatusReporter>();
        services.AddHostedService<SloTrafficWatch>();
        services.Replace(ServiceDescriptor.Singleton(sp => sp.GetRequiredService<SloCatalog>().CreateLatencyBoundaries()));
        return services;
    }
}

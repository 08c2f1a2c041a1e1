using Microsoft.Extensions.DependencyInjection.Extensions;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Drift;

/// <summary>Registers drift against each model version's baseline, and the estimated accuracy.</summary>
internal static class DriftServiceCollectionExtensions
{
    public static IServiceCollection AddDrift(this IServiceCollection services)
    {
        services.AddOptions<DriftOptions>()
            .BindConfiguration(DriftOptions.SectionName)
            .ValidateWithAllSettings<DriftOptions, DriftOptionsValidator>(DriftOptions.SectionName);
        services.TryAddSingleton<DriftRegistry>();
        services.TryAddSingleton<BaselinePinner>();
        services.AddHostedService(sp => sp.GetRequiredService<DriftRegistry>());
        return services;
    }
}

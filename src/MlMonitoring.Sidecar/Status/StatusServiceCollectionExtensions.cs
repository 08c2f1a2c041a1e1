using Microsoft.Extensions.DependencyInjection.Extensions;

namespace MlMonitoring.Sidecar.Status;

/// <summary>Registers <c>GetModelStatus</c>'s reporter.</summary>
internal static class StatusServiceCollectionExtensions
{
    public static IServiceCollection AddModelStatus(this IServiceCollection services)
    {
        services.TryAddSingleton<ModelStatusReporter>();
        return services;
    }
}

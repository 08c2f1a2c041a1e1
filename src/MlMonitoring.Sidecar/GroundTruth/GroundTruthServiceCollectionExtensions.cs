using Microsoft.Extensions.DependencyInjection.Extensions;

namespace MlMonitoring.Sidecar.GroundTruth;

/// <summary>Registers the join of delayed labels and outcomes to their predictions, and the quality it yields.</summary>
internal static class GroundTruthServiceCollectionExtensions
{
    public static IServiceCollection AddGroundTruth(this IServiceCollection services)
    {
        services.TryAddSingleton<GroundTruthInstruments>();
        services.TryAddSingleton<QualityWindows>();
        services.TryAddSingleton<GroundTruthJoiner>();
        services.TryAddSingleton<PendingPredictionSweeper>();
        services.AddHostedService(sp => sp.GetRequiredService<PendingPredictionSweeper>());
        return services;
    }
}

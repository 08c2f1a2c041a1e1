using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.GroundTruth;

/// <summary>Registers the join of delayed labels and outcomes to their predictions, and the quality it yields.</summary>
internal static class GroundTruthServiceCollectionExtensions
{
    public static IServiceCollection AddGroundTruth(this IServiceCollection services)
    {
        services.TryAddSingleton(sp => new EarlyLabels(sp.GetRequiredService<IOptions<MonitoringOptions>>().Value.GroundTruth.MaxEarlyLabels));
        services.TryAddSingleton<GroundTruthInstruments>();
        services.TryAddSingleton<QualityWindows>();
        services.TryAddSingleton<GroundTruthJoiner>();
        services.TryAddSingleton<PendingPredictionSweeper>();
        services.AddHostedService(sp => sp.GetRequiredService<PendingPredictionSweeper>());
        services.AddHostedService<EarlyLabelRetrier>();
        return services;
    }
}

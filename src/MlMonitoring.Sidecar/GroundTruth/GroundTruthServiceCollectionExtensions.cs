using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.SharedState;

namespace MlMonitoring.Sidecar.GroundTruth;

/// <summary>Registers the join of delayed labels and outcomes to their predictions, and the quality it yields.</summary>
internal static class GroundTruthServiceCollectionExtensions
{
    public static IServiceCollection AddGroundTruth(this IServiceCollection services)
    {
        services.AddOptions<GroundTruthOptions>()
            .BindConfiguration(GroundTruthOptions.SectionName)
            .ValidateWithAllSettings<GroundTruthOptions, GroundTruthOptionsValidator>(GroundTruthOptions.SectionName);
        // The join decides how long a label may be late; the store keeps its predictions that long.
        services.AddOptions<PendingPredictionLimits>().Configure<IOptions<GroundTruthOptions>>((limits, groundTruth) =>
        {
            limits.Ttl = groundTruth.Value.Ttl;
            limits.MaxPending = groundTruth.Value.MaxPending;
        });
        services.AddSingleton(sp => new ConfiguredLimits(("pending_predictions", sp.GetRequiredService<IOptions<GroundTruthOptions>>().Value.MaxPending)));
        services.TryAddSingleton(sp => new EarlyLabels(sp.GetRequiredService<IOptions<GroundTruthOptions>>().Value.MaxEarlyLabels));
        services.TryAddSingleton<GroundTruthInstruments>();
        services.TryAddSingleton<QualityWindows>();
        services.TryAddSingleton<GroundTruthJoiner>();
        services.TryAddSingleton<PendingPredictionSweeper>();
        services.AddHostedService(sp => sp.GetRequiredService<PendingPredictionSweeper>());
        services.AddHostedService<EarlyLabelRetrier>();
        return services;
    }
}

using Microsoft.Extensions.DependencyInjection.Extensions;

namespace MlMonitoring.Sidecar.Metrics;

/// <summary>Registers the recording of prediction events as the seed's instruments.</summary>
internal static class MetricsServiceCollectionExtensions
{
    public static IServiceCollection AddPredictionMetrics(this IServiceCollection services)
    {
        services.TryAddSingleton<PredictionInstruments>();
        services.TryAddSingleton<PredictionRecorder>();
        return services;
    }
}

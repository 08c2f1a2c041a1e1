using Microsoft.Extensions.DependencyInjection.Extensions;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Metrics;

/// <summary>Registers the recording of prediction events as the seed's instruments.</summary>
internal static class MetricsServiceCollectionExtensions
{
    public static IServiceCollection AddPredictionMetrics(this IServiceCollection services)
    {
        services.AddOptions<RegressionBucketOptions>()
            .BindConfiguration(RegressionBucketOptions.SectionName)
            .ValidateWithAllSettings<RegressionBucketOptions, BucketBoundariesValidator>(RegressionBucketOptions.SectionName);
        services.TryAddSingleton<PredictionInstruments>();
        services.TryAddSingleton<PredictionRecorder>();
        return services;
    }
}

using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Metrics;

/// <summary>
/// The buckets of <c>ml_prediction_value</c> (regression outputs), at the root of the <c>Monitoring</c> section: one
/// set for every model, and a model's own under <c>Monitoring:Models:&lt;model_name&gt;</c>.
/// </summary>
public sealed class RegressionBucketOptions
{
    /// <summary>The configuration section these settings are bound from.</summary>
    public const string SectionName = MonitoringOptions.SectionName;

    /// <summary>
    /// Upper bounds of <c>ml_prediction_value</c> for models without their own in <see cref="Models"/>.
    /// </summary>
    /// <remarks>
    /// Null until configured: the configuration binder appends to an array that already has elements, so the
    /// default lives in <see cref="DefaultRegressionBuckets"/> instead.
    /// </remarks>
    public double[]? RegressionBuckets { get; set; }

    /// <summary>The regression buckets without configuration.</summary>
    public static IReadOnlyList<double> DefaultRegressionBuckets { get; } = [0.1, 0.5, 1, 5, 10, 50, 100, 500, 1000];

    /// <summary>The global regression buckets in force.</summary>
    public IReadOnlyList<double> EffectiveRegressionBuckets => RegressionBuckets ?? DefaultRegressionBuckets;

    /// <summary>Settings of individual models, by model name.</summary>
    public Dictionary<string, ModelSettings> Models { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>Settings of one model, under <c>Monitoring:Models:&lt;model_name&gt;</c>.</summary>
public sealed class ModelSettings
{
    /// <summary>Upper bounds of this model's <c>ml_prediction_value</c> buckets; null: the global ones.</summary>
    public double[]? RegressionBuckets { get; set; }
}

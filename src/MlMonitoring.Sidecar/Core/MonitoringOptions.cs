using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MlMonitoring.Sidecar.Core;

/// <summary>
/// The settings every capability shares, at the root of the <c>Monitoring</c> section: the windows of each model
/// version's state and the cardinality limits. Each capability binds its own settings beside its code (for example
/// <c>Drift/DriftOptions.cs</c> from <c>Monitoring:Drift</c>); all are validated together at start
/// (<see cref="SettingsValidation"/>).
/// </summary>
public sealed class MonitoringOptions
{
    /// <summary>The configuration section every setting of the sidecar is under.</summary>
    public const string SectionName = "Monitoring";

    /// <summary>Rolling window of the <c>ml_feature_value</c> statistics. Default 5 minutes.</summary>
    [TimeSpanRange("00:00:01", "1.00:00:00")]
    public TimeSpan FeatureWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Reads of the windowed figures closer together than this share one computation: a scrape reads several gauges
    /// of the same windows, which are merged once for all of them. Zero computes them at every read. Default 250 ms.
    /// </summary>
    [TimeSpanRange("00:00:00", "00:00:10")]
    public TimeSpan SnapshotReuse { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Window of the traffic figures of <c>GetModelStatus</c> (request and error rate, latency). Default 5 minutes.</summary>
    [TimeSpanRange("00:00:01", "1.00:00:00")]
    public TimeSpan StatusWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// This sidecar is one of several replicas of a model version (a Deployment with more than one replica, or an
    /// autoscaler). Labels and outcomes then reach any replica, so the shared-state store must be one
    /// they share (<c>Monitoring:SharedState:Store=redis</c>); with a per-process store the start says so, as a warning.
    /// Fleet figures come from summing every replica's window counts (monitoring/prometheus/rules/ml-fleet.yaml).
    /// </summary>
    public bool Replicated { get; set; }

    /// <summary>Cardinality limits: what a misbehaving client can add to the series count.</summary>
    [ValidateObjectMembers]
    public CardinalityLimits Limits { get; set; } = new();
}

/// <summary>
/// Bounds on label values. Past a bound, new values are folded into <c>__other__</c> and the overflow is counted in
/// <c>ml_sidecar_cardinality_overflow_total{limit}</c>.
/// </summary>
public sealed class CardinalityLimits
{
    /// <summary>Distinct model names.</summary>
    [Range(1, 100_000)]
    public int MaxModels { get; set; } = 50;

    /// <summary>Distinct versions of one model.</summary>
    [Range(1, 10_000)]
    public int MaxVersionsPerModel { get; set; } = 10;

    /// <summary>Distinct predicted classes of one model version.</summary>
    [Range(1, 100_000)]
    public int MaxClassesPerModel { get; set; } = 100;

    /// <summary>Distinct feature names (numeric and categorical) of one model version.</summary>
    [Range(1, 100_000)]
    public int MaxFeaturesPerModel { get; set; } = 100;

    /// <summary>Distinct categories of one categorical feature.</summary>
    [Range(1, 100_000)]
    public int MaxCategoriesPerFeature { get; set; } = 50;

    /// <summary>Distinct (error_type, error_kind) pairs of one model version.</summary>
    [Range(1, 10_000)]
    public int MaxErrorTypesPerModel { get; set; } = 50;

    /// <summary>Distinct business outcome kinds of one model version.</summary>
    [Range(1, 10_000)]
    public int MaxOutcomeKindsPerModel { get; set; } = 20;

    /// <summary>Longest name or label value accepted (model, version, class, feature, category, error type).</summary>
    [Range(1, 4096)]
    public int MaxNameLength { get; set; } = 128;

    /// <summary>Most entries in one event's features, categorical features or class scores.</summary>
    [Range(1, 100_000)]
    public int MaxMapEntries { get; set; } = 1_000;

    /// <summary>
    /// Most series (label sets) one metric of the models holds: the OpenTelemetry SDK's cardinality limit of each
    /// metric stream. Measurements of a further label set are added to one series labelled
    /// <c>otel_metric_overflow="true"</c>. The limits above bound each label; this bounds their product, which
    /// for the classes, features and categories of many model versions can be larger. The SDK reserves about 72
    /// bytes per series of each metric as soon as the metric exists, so raising it costs memory before any series
    /// does.
    /// </summary>
    [Range(10, 100_000)]
    public int MaxSeriesPerMetric { get; set; } = 2_000;
}

[OptionsValidator]
internal sealed partial class MonitoringOptionsValidator : IValidateOptions<MonitoringOptions>;

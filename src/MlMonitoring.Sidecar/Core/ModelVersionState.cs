using System.Collections.Concurrent;
using MlMonitoring.V1;
using Tag = System.Collections.Generic.KeyValuePair<string, object?>;

namespace MlMonitoring.Sidecar.Core;

/// <summary>
/// Everything exported for one (model_name, model_version): the tag sets of its series, built once and reused for
/// every event, and the state of its rolling feature statistics. Children are bounded by the cardinality limits.
/// </summary>
internal sealed class ModelVersionState
{
    private readonly BoundedSeriesMap<string, ClassSeries> _classes;
    private readonly BoundedSeriesMap<(string Type, ErrorKind Kind), Tag[]> _errors;
    private readonly BoundedSeriesMap<string, FeatureSeries> _features;
    private readonly BoundedSeriesMap<string, Tag[]> _outcomeKinds;

    public ModelVersionState(string modelName, string modelVersion, SeriesLimiter limiter, TimeSpan featureWindow, TrafficWindow traffic)
    {
        Traffic = traffic;
        ModelName = modelName;
        ModelVersion = modelVersion;
        Tags = [new(LabelNames.ModelName, modelName), new(LabelNames.ModelVersion, modelVersion)];
        var limits = limiter.Limits;
        _classes = new(limiter, SeriesLimit.Classes, limits.MaxClassesPerModel,
            name => new ClassSeries(this, name), _ => LabelNames.Overflow, StringComparer.Ordinal);
        _errors = new(limiter, SeriesLimit.ErrorTypes, limits.MaxErrorTypesPerModel,
            key => BuildErrorTags(key.Type, key.Kind), key => (LabelNames.Overflow, key.Kind));
        // Features past the limit are not profiled at all: statistics of unrelated features mixed together mean nothing.
        var ordinal = 0;
        _features = new(limiter, SeriesLimit.Features, limits.MaxFeaturesPerModel,
            name => new FeatureSeries(this, name, Interlocked.Increment(ref ordinal) - 1, limiter, featureWindow), null, StringComparer.Ordinal);
        _outcomeKinds = new(limiter, SeriesLimit.OutcomeKinds, limits.MaxOutcomeKindsPerModel,
            kind => [.. Tags, new("kind", kind)], _ => LabelNames.Overflow, StringComparer.Ordinal);
    }

    public string ModelName { get; }

    public string ModelVersion { get; }

    /// <summary>{model_name, model_version}.</summary>
    public Tag[] Tags { get; }

    /// <summary>Recent traffic, for <c>GetModelStatus</c>.</summary>
    public TrafficWindow Traffic { get; }

    /// <summary>The model's <c>ml_prediction_value</c> histogram, resolved on its first regression output.</summary>
    public System.Diagnostics.Metrics.Histogram<double>? ValueHistogram { get; set; }

    /// <summary>The model's features, numeric and categorical, in no particular order.</summary>
    public ICollection<FeatureSeries> Features => _features.Values;

    /// <summary>The lock of every feature's rolling statistics: one acquisition per event, whatever its feature count.</summary>
    public Lock FeatureGate { get; } = new();

    /// <summary>The class series created so far (the overflow one included).</summary>
    public ICollection<ClassSeries> Classes => _classes.Values;

    /// <summary>
    /// Requests counted, exported as <c>ml_prediction_requests_total</c>. A per-series count read at collection is
    /// an increment per event; a counter with tags would be a tag lookup per event, and one per exporter.
    /// </summary>
    public long RequestCount;

    /// <summary>The series of a predicted class; past the class limit, the <c>__other__</c> series.</summary>
    public ClassSeries GetClass(string predictedClass) => _classes.Get(predictedClass)!;

    /// <summary>{model_name, model_version, error_type, error_kind}; past the limit, error_type <c>__other__</c>.</summary>
    public Tag[] GetErrorTags(string errorType, ErrorKind kind) => _errors.Get((errorType, kind))!;

    /// <summary>The series of a feature already seen, without creating it or counting an overflow.</summary>
    public FeatureSeries? FindFeature(string featureName) => _features.Find(featureName);

    /// <summary>The series of a feature, or null past the feature limit (its values are then not profiled).</summary>
    public FeatureSeries? GetFeature(string featureName) => _features.Get(featureName);

    /// <summary>{model_name, model_version, kind} of a business outcome; past the limit, kind <c>__other__</c>.</summary>
    public Tag[] GetOutcomeTags(string kind) => _outcomeKinds.Get(kind)!;

    private Tag[] BuildErrorTags(string errorType, ErrorKind kind) =>
    [
        new(LabelNames.ModelName, ModelName),
        new(LabelNames.ModelVersion, ModelVersion),
        new(LabelNames.ErrorType, errorType),
        new(LabelNames.ErrorKind, ErrorKindLabel(kind)),
    ];

    /// <summary>The error_kind label value: the enum name without its prefix, lower case.</summary>
    public static string ErrorKindLabel(ErrorKind kind) => kind switch
    {
        ErrorKind.Timeout => "timeout",
        ErrorKind.Server => "server",
        ErrorKind.InvalidInput => "invalid_input",
        _ => "unspecified",
    };
}

/// <summary>The series of one predicted class of one model version.</summary>
internal sealed class ClassSeries(ModelVersionState model, string predictedClass)
{
    /// <summary>The class name as exported (<c>__other__</c> past the limit).</summary>
    public string Name { get; } = predictedClass;

    /// <summary>Predictions of this class, exported as <c>ml_prediction_class_total</c>.</summary>
    public long PredictionCount;

    /// <summary>{model_name, model_version, predicted_class}.</summary>
    public Tag[] Tags { get; } =
    [
        new(LabelNames.ModelName, model.ModelName),
        new(LabelNames.ModelVersion, model.ModelVersion),
        new(LabelNames.PredictedClass, predictedClass),
    ];
}

/// <summary>
/// One input feature of one model version: rolling statistics of its numeric values, counts of its categories.
/// </summary>
internal sealed class FeatureSeries
{
    private readonly BoundedSeriesMap<string, CategorySeries> _categories;

    public FeatureSeries(ModelVersionState model, string featureName, int ordinal, SeriesLimiter limiter, TimeSpan window)
    {
        Model = model;
        FeatureName = featureName;
        Ordinal = ordinal;
        Statistics = new RollingStatistics(window, model.FeatureGate);
        Tags =
        [
            new(LabelNames.ModelName, model.ModelName),
            new(LabelNames.ModelVersion, model.ModelVersion),
            new(LabelNames.FeatureName, featureName),
        ];
        _categories = new(limiter, SeriesLimit.Categories, limiter.Limits.MaxCategoriesPerFeature,
            category => new CategorySeries([.. Tags, new(LabelNames.Category, category)]), _ => LabelNames.Overflow, StringComparer.Ordinal);
        StatisticTags = new Tag[FeatureStatistic.All.Length][];
        for (var i = 0; i < FeatureStatistic.All.Length; i++)
        {
            StatisticTags[i] = [.. Tags, new(LabelNames.Statistic, FeatureStatistic.All[i])];
        }
    }

    public ModelVersionState Model { get; }

    public string FeatureName { get; }

    /// <summary>Position of the feature among its model version's features (0, 1, …): an index for per-feature arrays.</summary>
    public int Ordinal { get; }

    /// <summary>{model_name, model_version, feature_name}.</summary>
    public Tag[] Tags { get; }

    /// <summary>Tags of <c>ml_feature_value</c>, one set per entry of <see cref="FeatureStatistic.All"/>.</summary>
    public Tag[][] StatisticTags { get; }

    public RollingStatistics Statistics { get; }

    /// <summary>The series of a category; past the limit, that of category <c>__other__</c>.</summary>
    public CategorySeries GetCategory(string category) => _categories.Get(category)!;

    public ICollection<CategorySeries> Categories => _categories.Values;
}

/// <summary>One category of a categorical feature: <c>ml_feature_category</c>, counted here and read at collection.</summary>
internal sealed class CategorySeries(Tag[] tags)
{
    /// <summary>How many values fell in this category; incremented with <see cref="Interlocked"/>.</summary>
    public long Count;

    /// <summary>{model_name, model_version, feature_name, category}.</summary>
    public Tag[] Tags { get; } = tags;
}

/// <summary>The values of the <c>statistic</c> label of <c>ml_feature_value</c>.</summary>
internal static class FeatureStatistic
{
    public static readonly string[] All = ["mean", "std", "min", "max", "count", "p50", "p95", "p99"];
}

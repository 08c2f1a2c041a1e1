using System.Collections.Concurrent;
using MlMonitoring.V1;
using Tag = System.Collections.Generic.KeyValuePair<string, object?>;

namespace MlMonitoring.Sidecar.Metrics;

/// <summary>
/// Everything exported for one (model_name, model_version): the tag sets of its series, built once and reused for
/// every event, and the state of its rolling feature statistics. Children are bounded by the cardinality limits.
/// </summary>
internal sealed class ModelSeries
{
    private readonly ConcurrentDictionary<string, ClassSeries> _classes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Type, ErrorKind Kind), Tag[]> _errors = new();
    private readonly ConcurrentDictionary<string, FeatureSeries> _features = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Tag[]> _outcomeKinds = new(StringComparer.Ordinal);
    private readonly SeriesLimiter _limiter;
    private readonly TimeSpan _featureWindow;
    private readonly Lock _growth = new();

    public ModelSeries(string modelName, string modelVersion, SeriesLimiter limiter, TimeSpan featureWindow, TrafficWindow traffic)
    {
        Traffic = traffic;
        ModelName = modelName;
        ModelVersion = modelVersion;
        _limiter = limiter;
        _featureWindow = featureWindow;
        Tags = [new(LabelNames.ModelName, modelName), new(LabelNames.ModelVersion, modelVersion)];
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

    /// <summary>The series of a predicted class; past the class limit, the <c>__other__</c> series.</summary>
    public ClassSeries GetClass(string predictedClass)
    {
        if (_classes.TryGetValue(predictedClass, out var series))
        {
            return series;
        }

        lock (_growth)
        {
            if (_classes.TryGetValue(predictedClass, out series))
            {
                return series;
            }

            if (_classes.Count >= _limiter.Limits.MaxClassesPerModel)
            {
                _limiter.CountOverflow(SeriesLimit.Classes);
                return _classes.GetOrAdd(LabelNames.Overflow, name => new ClassSeries(this, name));
            }

            return _classes[predictedClass] = new ClassSeries(this, predictedClass);
        }
    }

    /// <summary>{model_name, model_version, error_type, error_kind}; past the limit, error_type <c>__other__</c>.</summary>
    public Tag[] GetErrorTags(string errorType, ErrorKind kind)
    {
        if (_errors.TryGetValue((errorType, kind), out var tags))
        {
            return tags;
        }

        lock (_growth)
        {
            if (_errors.TryGetValue((errorType, kind), out tags))
            {
                return tags;
            }

            if (_errors.Count >= _limiter.Limits.MaxErrorTypesPerModel)
            {
                _limiter.CountOverflow(SeriesLimit.ErrorTypes);
                return _errors.GetOrAdd((LabelNames.Overflow, kind), key => BuildErrorTags(key.Type, key.Kind));
            }

            return _errors[(errorType, kind)] = BuildErrorTags(errorType, kind);
        }
    }

    /// <summary>The series of a feature already seen, without creating it or counting an overflow.</summary>
    public FeatureSeries? FindFeature(string featureName) => _features.GetValueOrDefault(featureName);

    /// <summary>The series of a feature, or null past the feature limit (its values are then not profiled).</summary>
    public FeatureSeries? GetFeature(string featureName)
    {
        if (_features.TryGetValue(featureName, out var series))
        {
            return series;
        }

        lock (_growth)
        {
            if (_features.TryGetValue(featureName, out series))
            {
                return series;
            }

            if (_features.Count >= _limiter.Limits.MaxFeaturesPerModel)
            {
                _limiter.CountOverflow(SeriesLimit.Features);
                return null;
            }

            return _features[featureName] = new FeatureSeries(this, featureName, _features.Count, _limiter, _featureWindow);
        }
    }

    /// <summary>{model_name, model_version, kind} of a business outcome; past the limit, kind <c>__other__</c>.</summary>
    public Tag[] GetOutcomeTags(string kind)
    {
        if (_outcomeKinds.TryGetValue(kind, out var tags))
        {
            return tags;
        }

        lock (_growth)
        {
            if (_outcomeKinds.TryGetValue(kind, out tags))
            {
                return tags;
            }

            if (_outcomeKinds.Count >= _limiter.Limits.MaxOutcomeKindsPerModel)
            {
                _limiter.CountOverflow(SeriesLimit.OutcomeKinds);
                return _outcomeKinds.GetOrAdd(LabelNames.Overflow, BuildOutcomeTags);
            }

            return _outcomeKinds[kind] = BuildOutcomeTags(kind);
        }
    }

    private Tag[] BuildOutcomeTags(string kind) => [.. Tags, new("kind", kind)];

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
internal sealed class ClassSeries(ModelSeries model, string predictedClass)
{
    /// <summary>The class name as exported (<c>__other__</c> past the limit).</summary>
    public string Name { get; } = predictedClass;

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
    private readonly ConcurrentDictionary<string, Tag[]> _categories = new(StringComparer.Ordinal);
    private readonly SeriesLimiter _limiter;
    private readonly Lock _growth = new();

    public FeatureSeries(ModelSeries model, string featureName, int ordinal, SeriesLimiter limiter, TimeSpan window)
    {
        Model = model;
        FeatureName = featureName;
        Ordinal = ordinal;
        _limiter = limiter;
        Statistics = new RollingStatistics(window);
        Tags =
        [
            new(LabelNames.ModelName, model.ModelName),
            new(LabelNames.ModelVersion, model.ModelVersion),
            new(LabelNames.FeatureName, featureName),
        ];
        StatisticTags = new Tag[FeatureStatistic.All.Length][];
        for (var i = 0; i < FeatureStatistic.All.Length; i++)
        {
            StatisticTags[i] = [.. Tags, new(LabelNames.Statistic, FeatureStatistic.All[i])];
        }
    }

    public ModelSeries Model { get; }

    public string FeatureName { get; }

    /// <summary>Position of the feature among its model version's features (0, 1, …): an index for per-feature arrays.</summary>
    public int Ordinal { get; }

    /// <summary>{model_name, model_version, feature_name}.</summary>
    public Tag[] Tags { get; }

    /// <summary>Tags of <c>ml_feature_value</c>, one set per entry of <see cref="FeatureStatistic.All"/>.</summary>
    public Tag[][] StatisticTags { get; }

    public RollingStatistics Statistics { get; }

    /// <summary>{model_name, model_version, feature_name, category}; past the limit, category <c>__other__</c>.</summary>
    public Tag[] GetCategoryTags(string category)
    {
        if (_categories.TryGetValue(category, out var tags))
        {
            return tags;
        }

        lock (_growth)
        {
            if (_categories.TryGetValue(category, out tags))
            {
                return tags;
            }

            if (_categories.Count >= _limiter.Limits.MaxCategoriesPerFeature)
            {
                _limiter.CountOverflow(SeriesLimit.Categories);
                return _categories.GetOrAdd(LabelNames.Overflow, BuildCategoryTags);
            }

            return _categories[category] = BuildCategoryTags(category);
        }
    }

    private Tag[] BuildCategoryTags(string category) => [.. Tags, new(LabelNames.Category, category)];
}

/// <summary>The values of the <c>statistic</c> label of <c>ml_feature_value</c>.</summary>
internal static class FeatureStatistic
{
    public static readonly string[] All = ["mean", "std", "min", "max", "count", "p50", "p95", "p99"];
}

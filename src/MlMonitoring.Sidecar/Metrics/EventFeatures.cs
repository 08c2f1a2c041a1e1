using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Metrics;

/// <summary>
/// The features of the event being ingested, resolved to their series once by the recorder and read by the
/// analytics after it (drift), so that no later step looks a feature up by name again. One instance per thread,
/// reused for every event: filling it allocates nothing once it has grown to the widest event seen.
/// </summary>
internal sealed class EventFeatures
{
    [ThreadStatic]
    private static EventFeatures? t_current;

    private FeatureSeries[] _numeric = new FeatureSeries[8];
    private double[] _values = new double[8];
    private FeatureSeries[] _categorical = new FeatureSeries[4];
    private string[] _categories = new string[4];

    /// <summary>The calling thread's instance, emptied.</summary>
    public static EventFeatures ForCurrentThread()
    {
        var features = t_current ??= new EventFeatures();
        features.NumericCount = 0;
        features.CategoricalCount = 0;
        return features;
    }

    public int NumericCount { get; private set; }

    public int CategoricalCount { get; private set; }

    public ReadOnlySpan<FeatureSeries> Numeric => _numeric.AsSpan(0, NumericCount);

    /// <summary>The values of <see cref="Numeric"/>; NaN for a missing value.</summary>
    public ReadOnlySpan<double> Values => _values.AsSpan(0, NumericCount);

    public ReadOnlySpan<FeatureSeries> Categorical => _categorical.AsSpan(0, CategoricalCount);

    public ReadOnlySpan<string> Categories => _categories.AsSpan(0, CategoricalCount);

    public void AddNumeric(FeatureSeries feature, double value)
    {
        if (NumericCount == _numeric.Length)
        {
            Array.Resize(ref _numeric, NumericCount * 2);
            Array.Resize(ref _values, NumericCount * 2);
        }

        _numeric[NumericCount] = feature;
        _values[NumericCount++] = value;
    }

    public void AddCategorical(FeatureSeries feature, string category)
    {
        if (CategoricalCount == _categorical.Length)
        {
            Array.Resize(ref _categorical, CategoricalCount * 2);
            Array.Resize(ref _categories, CategoricalCount * 2);
        }

        _categorical[CategoricalCount] = feature;
        _categories[CategoricalCount++] = category;
    }
}

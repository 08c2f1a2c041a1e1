using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Metrics;

namespace MlMonitoring.Sidecar.Drift;

/// <summary>What the first events of the version are accumulated into until the baseline is complete.</summary>
internal sealed class BaselineCapture(int size)
{
    private DDSketch?[] _numeric = [];
    private Dictionary<string, long>?[] _categorical = [];

    public int Size { get; } = size;

    public long Events { get; private set; }

    public Dictionary<string, long> Classes { get; } = new(StringComparer.Ordinal);

    public DDSketch Confidence { get; } = new();

    public HashSet<FeatureSeries> Features { get; } = [];

    public DDSketch? NumericOf(FeatureSeries feature) => ByOrdinal.At(_numeric, feature.Ordinal);

    public Dictionary<string, long>? CategoricalOf(FeatureSeries feature) => ByOrdinal.At(_categorical, feature.Ordinal);

    public void Add(in RecordedPrediction recorded)
    {
        Events++;
        if (recorded.Class is { } predicted)
        {
            Classes[predicted.Name] = Classes.GetValueOrDefault(predicted.Name) + 1;
        }

        if (!double.IsNaN(recorded.Confidence))
        {
            Confidence.Add(recorded.Confidence);
        }

        var features = recorded.Features;
        var values = features.Values;
        var numeric = features.Numeric;
        for (var i = 0; i < numeric.Length; i++)
        {
            var feature = numeric[i];
            ByOrdinal.Grow(ref _numeric, feature.Ordinal);
            if (_numeric[feature.Ordinal] is not { } sketch)
            {
                _numeric[feature.Ordinal] = sketch = new DDSketch();
                Features.Add(feature);
            }

            sketch.Add(values[i]);
        }

        var categories = features.Categories;
        var categorical = features.Categorical;
        for (var i = 0; i < categorical.Length; i++)
        {
            var feature = categorical[i];
            ByOrdinal.Grow(ref _categorical, feature.Ordinal);
            if (_categorical[feature.Ordinal] is not { } counts)
            {
                _categorical[feature.Ordinal] = counts = new(StringComparer.Ordinal);
                Features.Add(feature);
            }

            // Distinct categories kept while capturing are bounded; the rare tail shares one entry.
            var key = counts.Count < 1_000 || counts.ContainsKey(categories[i]) ? categories[i] : LabelNames.Overflow;
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }
    }
}

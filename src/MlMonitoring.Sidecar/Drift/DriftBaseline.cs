using MlMonitoring.Internal.V1;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Drift;

/// <summary>A pinned baseline: bins and baseline counts per signal; features indexed by ordinal.</summary>
internal sealed class DriftBaseline
{
    private NumericBins?[] _numeric = [];
    private CategoryBins?[] _categorical = [];

    public long Events { get; private init; }

    public required CategoryBins Classes { get; init; }

    public NumericBins? Confidence { get; private init; }

    public List<FeatureSeries> Features { get; } = [];

    public NumericBins?[] Numeric => _numeric;

    public CategoryBins?[] Categorical => _categorical;

    /// <summary>Signals compared: the classes when any was counted, the confidence, and each feature's numeric and categorical bins.</summary>
    public int SignalCount =>
        (Classes.Counts.Any(c => c > 0) ? 1 : 0) + (Confidence is null ? 0 : 1)
        + Features.Sum(f => (ByOrdinal.At(_numeric, f.Ordinal) is null ? 0 : 1) + (ByOrdinal.At(_categorical, f.Ordinal) is null ? 0 : 1));

    public static DriftBaseline FromCapture(BaselineCapture capture, DriftOptions options)
    {
        var baseline = new DriftBaseline
        {
            Events = capture.Events,
            // Every class of the baseline gets its own bin; classes new since then share the last.
            Classes = CategoryBins.FromCounts(capture.Classes, int.MaxValue),
            Confidence = capture.Confidence.Count > 0 ? NumericBins.FromSketch(capture.Confidence, options.Bins) : null,
        };
        foreach (var feature in capture.Features)
        {
            baseline.Add(
                feature,
                capture.NumericOf(feature) is { } sketch ? NumericBins.FromSketch(sketch, options.Bins) : null,
                capture.CategoricalOf(feature) is { } counts ? CategoryBins.FromCounts(counts, options.MaxCategories) : null);
        }

        return baseline;
    }

    public static DriftBaseline FromPersisted(PersistedBaseline persisted, ModelVersionState model)
    {
        var baseline = new DriftBaseline
        {
            Events = (long)persisted.Events,
            Classes = CategoryBins.FromPersisted(persisted.Classes),
            Confidence = persisted.Confidence is { } confidence ? NumericBins.FromPersisted(confidence) : null,
        };
        foreach (var name in persisted.NumericFeatures.Keys.Union(persisted.CategoricalFeatures.Keys))
        {
            if (model.GetFeature(name) is { } feature)
            {
                baseline.Add(
                    feature,
                    persisted.NumericFeatures.TryGetValue(name, out var numeric) ? NumericBins.FromPersisted(numeric) : null,
                    persisted.CategoricalFeatures.TryGetValue(name, out var categorical) ? CategoryBins.FromPersisted(categorical) : null);
            }
        }

        return baseline;
    }

    public PersistedBaseline ToPersisted()
    {
        var persisted = new PersistedBaseline
        {
            Events = (ulong)Events,
            Classes = Classes.ToPersisted(),
            Confidence = Confidence?.ToPersisted(),
        };
        foreach (var feature in Features)
        {
            if (ByOrdinal.At(_numeric, feature.Ordinal) is { } numeric)
            {
                persisted.NumericFeatures[feature.FeatureName] = numeric.ToPersisted();
            }

            if (ByOrdinal.At(_categorical, feature.Ordinal) is { } categorical)
            {
                persisted.CategoricalFeatures[feature.FeatureName] = categorical.ToPersisted();
            }
        }

        return persisted;
    }

    private void Add(FeatureSeries feature, NumericBins? numeric, CategoryBins? categorical)
    {
        Features.Add(feature);
        ByOrdinal.Grow(ref _numeric, feature.Ordinal);
        ByOrdinal.Grow(ref _categorical, feature.Ordinal);
        _numeric[feature.Ordinal] = numeric;
        _categorical[feature.Ordinal] = categorical;
    }
}

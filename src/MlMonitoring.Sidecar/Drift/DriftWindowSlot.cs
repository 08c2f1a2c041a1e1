using MlMonitoring.Internal.V1;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Metrics;

namespace MlMonitoring.Sidecar.Drift;

/// <summary>Counts of one slot of the current window, in the bins of the baseline it was counted against.</summary>
internal sealed class DriftWindowSlot : SlotRing<DriftWindowSlot>.ISlot
{
    /// <summary>Adds another replica's counts of the same slot, counted against the same baseline.</summary>
    public void Merge(DriftSlotRecord other, DriftBaseline baseline, int generation, ModelVersionState model)
    {
        CountAgainst(baseline, generation);
        CountArrays.AddInto(Classes, other.Classes);
        CountArrays.AddInto(Confidence, other.Confidence);
        foreach (var (name, counts) in other.Quantiles)
        {
            if (model.FindFeature(name) is { } feature && ByOrdinal.At(baseline.Numeric, feature.Ordinal) is { } bins)
            {
                CountArrays.AddInto(Quantiles[feature.Ordinal] ??= new long[bins.QuantileBucketCount], counts.Counts);
            }
        }

        foreach (var (name, counts) in other.Categorical)
        {
            if (model.FindFeature(name) is { } feature && ByOrdinal.At(baseline.Categorical, feature.Ordinal) is { } bins)
            {
                CountArrays.AddInto(Categorical[feature.Ordinal] ??= new long[bins.BinCount], counts.Counts);
            }
        }
    }

    /// <summary>Makes the slot count in the bins of <paramref name="baseline"/>, starting them at zero if it counted against another.</summary>
    private void CountAgainst(DriftBaseline baseline, int generation)
    {
        if (Generation != generation)
        {
            Generation = generation;
            Classes = new long[baseline.Classes.BinCount];
            Confidence = new long[baseline.Confidence?.BinCount ?? 0];
            Categorical = new long[]?[baseline.Categorical.Length];
            Quantiles = new long[]?[baseline.Numeric.Length];
        }
    }

    public int Generation = -1;
    public double ConfidenceSum;
    public long ConfidenceCount;
    public long[] Classes = [];
    public long[] Confidence = [];
    public long[]?[] Categorical = [];

    /// <summary>Per numeric feature, counts in its quantile buckets (<see cref="NumericBins.QuantileEdges"/>).</summary>
    public long[]?[] Quantiles = [];

    public void Reset()
    {
        Generation = -1;
        ConfidenceSum = 0;
        ConfidenceCount = 0;
        Array.Clear(Categorical);
        Array.Clear(Quantiles);
    }

    public void Count(in RecordedPrediction recorded, DriftBaseline baseline, int generation)
    {
        CountAgainst(baseline, generation);

        if (recorded.Class is { } predicted)
        {
            Classes[baseline.Classes.BinOf(predicted.Name)]++;
        }

        if (!double.IsNaN(recorded.Confidence) && baseline.Confidence is { } confidence)
        {
            Confidence[confidence.BinOf(recorded.Confidence)]++;
        }

        var features = recorded.Features;
        var values = features.Values;
        var numeric = features.Numeric;
        for (var i = 0; i < numeric.Length; i++)
        {
            var ordinal = numeric[i].Ordinal;
            if (ByOrdinal.At(baseline.Numeric, ordinal) is not { } bins)
            {
                continue;
            }

            // The bins' counts are derived from the quantile buckets at read time (each bucket lies in one bin).
            (Quantiles[ordinal] ??= new long[bins.QuantileBucketCount])[bins.QuantileBucketOf(values[i])]++;
        }

        var categories = features.Categories;
        var categorical = features.Categorical;
        for (var i = 0; i < categorical.Length; i++)
        {
            var ordinal = categorical[i].Ordinal;
            if (ByOrdinal.At(baseline.Categorical, ordinal) is { } bins)
            {
                (Categorical[ordinal] ??= new long[bins.BinCount])[bins.BinOf(categories[i])]++;
            }
        }
    }
}

using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Drift;

/// <summary>A numeric feature's values in the drift window, counted in the quantile buckets of the fleet's baseline.</summary>
/// <param name="FeatureName">The feature.</param>
/// <param name="UpperBounds">Each bucket's upper bound as its <c>le</c> label, the last <c>+Inf</c>.</param>
/// <param name="Counts">Values per bucket (not cumulative), one per bound.</param>
internal sealed record FeatureQuantileCounts(string FeatureName, string[] UpperBounds, long[] Counts);

/// <summary>The drift picture of one model version at one moment.</summary>
internal sealed record DriftSnapshot(long BaselineEvents, bool Pinned, double? EstimatedAccuracy, IReadOnlyList<DriftSignal> Signals)
{
    /// <summary>Numeric features' window values in the fleet baseline's quantile buckets; empty until the baseline is the fleet's.</summary>
    public IReadOnlyList<FeatureQuantileCounts> FeatureQuantiles { get; init; } = [];

    /// <summary>Σ top-class confidence over the drift window: with <see cref="ConfidenceCount"/>, the estimate's terms.</summary>
    public double ConfidenceSum { get; init; }

    /// <summary>Predictions with a confidence in the drift window.</summary>
    public long ConfidenceCount { get; init; }

    /// <summary>Signals the baseline can compare (classes, confidence, each feature), whether the window has events of them or not.</summary>
    public int BaselineSignals { get; init; }
}

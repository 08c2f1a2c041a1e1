using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.SharedState;

/// <summary>
/// A prediction remembered until its label arrives: the series it was counted in, what it predicted, and when.
/// </summary>
/// <param name="Model">The model version's series.</param>
/// <param name="PredictedClass">The predicted class of a classification; null for a regression.</param>
/// <param name="PredictedValue">The predicted value of a regression.</param>
/// <param name="Confidence">The top-class confidence; NaN when none was sent.</param>
/// <param name="TimeMs">When the prediction was made, in Unix milliseconds.</param>
internal readonly record struct PendingPrediction(
    ModelVersionState Model, ClassSeries? PredictedClass, double PredictedValue, float Confidence, long TimeMs)
{
    public bool IsClassification => PredictedClass is not null;
}

/// <summary>What became of a label's claim on its prediction.</summary>
internal enum ClaimOutcome
{
    /// <summary>The prediction was pending; it is now labelled, by this claim and no other.</summary>
    Claimed,

    /// <summary>No prediction has this id.</summary>
    Unknown,

    /// <summary>The prediction already has its label.</summary>
    Duplicate,

    /// <summary>The prediction waited longer than the TTL, or was evicted to respect MaxPending.</summary>
    Expired,

    /// <summary>A class for a regression or a value for a classification; the prediction stays pending.</summary>
    Mismatch,
}

internal readonly record struct Claim(ClaimOutcome Outcome, PendingPrediction Prediction);

/// <summary>What a sweep of the store found.</summary>
internal readonly record struct SweepResult(long ExpiredByTtl, long EvictedForCapacity, long Pending);

/// <summary>
/// Where predictions with an id wait for their labels: the ground-truth join's part of the shared state.
/// <see cref="Remember"/> is on the per-event path and never waits for I/O; a claim is atomic, so a label joins its
/// prediction exactly once, however many replicas share the store.
/// </summary>
internal interface IPendingPredictionStore
{
    /// <summary>Remembers a prediction. Never blocks: an external store queues the write.</summary>
    void Remember(string predictionId, in PendingPrediction prediction);

    /// <summary>Claims the prediction of a label: marks it labelled if it is pending and of the label's kind.</summary>
    ValueTask<Claim> ClaimAsync(string predictionId, bool labelIsClass, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Finds a prediction, pending or labelled, without claiming it (to attribute business outcomes).</summary>
    ValueTask<PendingPrediction?> FindAsync(string predictionId, CancellationToken cancellationToken);

    /// <summary>Waits until every prediction remembered before this call can be claimed.</summary>
    ValueTask FlushAsync(CancellationToken cancellationToken);

    /// <summary>Expires what outlived the TTL, evicts the oldest past MaxPending, forgets old tombstones.</summary>
    ValueTask<SweepResult> SweepAsync(DateTimeOffset now, CancellationToken cancellationToken);
}

/// <summary>The states a remembered prediction goes through.</summary>
internal enum PredictionState : byte
{
    Pending = 0,
    Labeled = 1,
    Expired = 2,
}

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

/// <summary>
/// The store cannot answer truthfully now: a label it would call unknown may belong to a prediction still waiting
/// in its write queue. The label is refused, to be sent again, rather than counted as unknown.
/// </summary>
internal sealed class SharedStateUnavailableException : Exception
{
    public SharedStateUnavailableException()
    {
    }

    public SharedStateUnavailableException(string message)
        : base(message)
    {
    }

    public SharedStateUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// A model version's drift baseline as the shared state holds it: one per model version for the whole fleet.
/// </summary>
/// <param name="ModelName">The model.</param>
/// <param name="ModelVersion">The version.</param>
/// <param name="Epoch">Grows by one with every pin (PinBaseline, a new Monitoring:Drift:BaselineGeneration).</param>
/// <param name="Complete">True: a captured baseline. False: a pin announced, its baseline being captured.</param>
/// <param name="Data">The serialized baseline (or, for a pin, the capture's size and generation); opaque to stores.</param>
internal sealed record StoredBaseline(string ModelName, string ModelVersion, long Epoch, bool Complete, byte[] Data)
{
    /// <summary>Whether this would be written over <paramref name="stored"/> (null: nothing stored).</summary>
    public bool Supersedes(StoredBaseline? stored) =>
        stored is null || Epoch > stored.Epoch || (Epoch == stored.Epoch && Complete && !stored.Complete);
}

/// <summary>What a sweep of the store found.</summary>
internal readonly record struct SweepResult(long ExpiredByTtl, long EvictedForCapacity, long Pending);

/// <summary>
/// Where predictions with an id wait for their labels. <see cref="Remember"/> is on the per-event path and never
/// waits for I/O; a claim is atomic, so a label joins its prediction exactly once, however many replicas share
/// the store.
/// </summary>
internal interface ISharedStateStore : IAsyncDisposable
{
    /// <summary>Remembers a prediction. Never blocks: an external store queues the write.</summary>
    void Remember(string predictionId, in PendingPrediction prediction);

    /// <summary>Claims the prediction of a label: marks it labelled if it is pending and of the label's kind.</summary>
    ValueTask<Claim> ClaimAsync(string predictionId, bool labelIsClass, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Finds a prediction, pending or labelled, without claiming it (to attribute business outcomes).</summary>
    ValueTask<PendingPrediction?> FindAsync(string predictionId, CancellationToken cancellationToken);

    /// <summary>Waits until every prediction remembered before this call can be claimed.</summary>
    ValueTask FlushAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Publishes a model version's drift baseline to every replica sharing the store, if it is newer than what the
    /// store holds: nothing stored yet, a later epoch, or the completed baseline of the epoch the stored record
    /// only announced (a pin). Atomic, so that of two replicas completing the same epoch at once exactly one is
    /// written; the other learns it lost (false) and adopts the winner's.
    /// </summary>
    ValueTask<bool> PublishBaselineAsync(StoredBaseline baseline, CancellationToken cancellationToken);

    /// <summary>Every model version's published baseline (or announced pin).</summary>
    ValueTask<IReadOnlyList<StoredBaseline>> LoadBaselinesAsync(CancellationToken cancellationToken);

    /// <summary>Expires what outlived the TTL, evicts the oldest past MaxPending, forgets old tombstones.</summary>
    ValueTask<SweepResult> SweepAsync(DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Keeps a stopping replica's window counts (opaque to stores) for a replica that stays to take, so that they
    /// stay in the fleet's figures until they age out of their windows.
    /// </summary>
    ValueTask HandOverWindowsAsync(byte[] windows, DateTimeOffset handedOverAt, CancellationToken cancellationToken);

    /// <summary>
    /// Takes the oldest windows handed over before <paramref name="handedOverBefore"/>, exactly once however many
    /// replicas ask; those handed over before <paramref name="discardBefore"/> are dropped unread. Null when none.
    /// </summary>
    ValueTask<byte[]?> TakeHandedOverWindowsAsync(DateTimeOffset handedOverBefore, DateTimeOffset discardBefore, CancellationToken cancellationToken);
}

/// <summary>The states a remembered prediction goes through.</summary>
internal enum PredictionState : byte
{
    Pending = 0,
    Labeled = 1,
    Expired = 2,
}

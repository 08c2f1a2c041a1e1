namespace MlMonitoring.Sidecar.SharedState;

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

/// <summary>Drift baselines, one per model version for the whole fleet: drift's part of the shared state.</summary>
internal interface ISharedBaselineStore
{
    /// <summary>
    /// Publishes a model version's drift baseline to every replica sharing the store, if it is newer than what the
    /// store holds: nothing stored yet, a later epoch, or the completed baseline of the epoch the stored record
    /// only announced (a pin). Atomic, so that of two replicas completing the same epoch at once exactly one is
    /// written; the other learns it lost (false) and adopts the winner's.
    /// </summary>
    ValueTask<bool> PublishBaselineAsync(StoredBaseline baseline, CancellationToken cancellationToken);

    /// <summary>Every model version's published baseline (or announced pin).</summary>
    ValueTask<IReadOnlyList<StoredBaseline>> LoadBaselinesAsync(CancellationToken cancellationToken);
}

namespace MlMonitoring.Sidecar.SharedState;

/// <summary>Drift baselines, one per model version for the fleet (<see cref="ISharedBaselineStore"/>).</summary>
internal sealed partial class MemorySharedStateStore
{
    // One process, so the baselines are only this process's, kept by the same rule as a shared store's.
    public ValueTask<bool> PublishBaselineAsync(StoredBaseline baseline, CancellationToken cancellationToken)
    {
        lock (_baselines)
        {
            var key = (baseline.ModelName, baseline.ModelVersion);
            if (!baseline.Supersedes(_baselines.GetValueOrDefault(key)))
            {
                return ValueTask.FromResult(false);
            }

            _baselines[key] = baseline;
            return ValueTask.FromResult(true);
        }
    }

    public ValueTask<IReadOnlyList<StoredBaseline>> LoadBaselinesAsync(CancellationToken cancellationToken)
    {
        lock (_baselines)
        {
            return ValueTask.FromResult<IReadOnlyList<StoredBaseline>>([.. _baselines.Values]);
        }
    }
}

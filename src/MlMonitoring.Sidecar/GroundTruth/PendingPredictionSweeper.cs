using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.SharedState;
using Tag = System.Collections.Generic.KeyValuePair<string, object?>;

namespace MlMonitoring.Sidecar.GroundTruth;

/// <summary>
/// Sweeps the pending predictions of the shared-state store on a timer: expires predictions past their TTL, evicts past MaxPending, and publishes
/// the pending count. A tenth of the TTL apart, between 100 ms and 10 s.
/// </summary>
internal sealed class PendingPredictionSweeper(
    IPendingPredictionStore store, GroundTruthInstruments instruments, SharedStateHealth health, IOptions<GroundTruthOptions> options, TimeProvider time)
    : BackgroundService
{
    private static readonly Tag[] TtlTags = [new("reason", "ttl")];
    private static readonly Tag[] CapacityTags = [new("reason", "capacity")];

    /// <summary>Runs one sweep now.</summary>
    public async Task SweepAsync(CancellationToken cancellationToken)
    {
        var result = await store.SweepAsync(time.GetUtcNow(), cancellationToken);
        instruments.Pending = result.Pending;
        if (result.Pending > 0 || result.ExpiredByTtl > 0 || result.EvictedForCapacity > 0)
        {
            var evicted = instruments.Published.Evicted;
            evicted.Add(result.ExpiredByTtl, TtlTags);
            evicted.Add(result.EvictedForCapacity, CapacityTags);
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromTicks(Math.Clamp(
            options.Value.Ttl.Ticks / 10, TimeSpan.FromMilliseconds(100).Ticks, TimeSpan.FromSeconds(10).Ticks));
        return PeriodicWork.RunAsync(interval, time, SweepAsync, e => health.ReportFailure("sweep", e), firstRoundNow: true, stoppingToken);
    }
}

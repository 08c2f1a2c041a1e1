using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.SharedState;
using MlMonitoring.Sidecar.Tests.Infrastructure;
using Xunit.Abstractions;

namespace MlMonitoring.Sidecar.Tests.SharedState;

public sealed class MemorySharedStateStoreTests(ITestOutputHelper output)
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_million_pending_predictions_cost_at_most_200_bytes_each()
    {
        var (store, model) = Create(new PendingPredictionLimits { MaxPending = 2_000_000 });
        var legit = model.GetClass("legit");
        var before = Heap();

        for (var i = 0; i < 1_000_000; i++)
        {
            // Ids as model servers send them: 36-character UUIDs.
            store.Remember(Guid.NewGuid().ToString(), new PendingPrediction(model, legit, 0, 0.93f, Now.ToUnixTimeMilliseconds()));
        }

        var bytesPerPending = (Heap() - before) / 1_000_000.0;
        output.WriteLine($"memory store: {bytesPerPending:0.0} bytes per pending prediction (1,000,000 pending)");
        Assert.True(bytesPerPending <= 200, $"{bytesPerPending:0.0} bytes per pending prediction");
        Assert.Equal(1_000_000, (await store.SweepAsync(Now, CancellationToken.None)).Pending);
        GC.KeepAlive(store);
    }

    [Fact]
    public async Task Past_max_pending_the_oldest_pending_prediction_is_evicted_and_counted()
    {
        var (store, model) = Create(new PendingPredictionLimits { MaxPending = 3 });
        var yes = model.GetClass("yes");
        for (var i = 0; i < 5; i++)
        {
            store.Remember($"id-{i}", new PendingPrediction(model, yes, 0, float.NaN, Now.ToUnixTimeMilliseconds() + i));
        }

        Assert.Equal(ClaimOutcome.Claimed, (await store.ClaimAsync("id-4", labelIsClass: true, Now, CancellationToken.None)).Outcome);
        Assert.Equal(ClaimOutcome.Expired, (await store.ClaimAsync("id-0", labelIsClass: true, Now, CancellationToken.None)).Outcome);
        Assert.Equal(ClaimOutcome.Expired, (await store.ClaimAsync("id-1", labelIsClass: true, Now, CancellationToken.None)).Outcome);
        Assert.Equal(ClaimOutcome.Claimed, (await store.ClaimAsync("id-2", labelIsClass: true, Now, CancellationToken.None)).Outcome);
        Assert.Equal(ClaimOutcome.Duplicate, (await store.ClaimAsync("id-2", labelIsClass: true, Now, CancellationToken.None)).Outcome);
        var sweep = await store.SweepAsync(Now, CancellationToken.None);
        Assert.Equal((0L, 2L, 1L), (sweep.ExpiredByTtl, sweep.EvictedForCapacity, sweep.Pending));
    }

    [Fact]
    public async Task Tombstones_are_forgotten_after_a_second_ttl()
    {
        var (store, model) = Create(new PendingPredictionLimits { Ttl = TimeSpan.FromMinutes(10) });
        store.Remember("a", new PendingPrediction(model, model.GetClass("x"), 0, float.NaN, Now.ToUnixTimeMilliseconds()));
        await store.ClaimAsync("a", labelIsClass: true, Now, CancellationToken.None);

        await store.SweepAsync(Now + TimeSpan.FromMinutes(15), CancellationToken.None);
        Assert.Equal(ClaimOutcome.Duplicate, (await store.ClaimAsync("a", true, Now + TimeSpan.FromMinutes(15), CancellationToken.None)).Outcome);
        await store.SweepAsync(Now + TimeSpan.FromMinutes(21), CancellationToken.None);
        Assert.Equal(ClaimOutcome.Unknown, (await store.ClaimAsync("a", true, Now + TimeSpan.FromMinutes(21), CancellationToken.None)).Outcome);
    }

    private static (MemorySharedStateStore Store, ModelVersionState Model) Create(PendingPredictionLimits limits)
    {
        var monitoring = Options.Create(new MonitoringOptions());
        var registry = new ModelVersionRegistry(monitoring, new SidecarMetrics(new TestMeterFactory(), monitoring));
        return (new MemorySharedStateStore(limits), registry.Get("fraud", "v1"));
    }

    private static long Heap()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}

using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.SharedState;
using MlMonitoring.Sidecar.Tests.Infrastructure;

namespace MlMonitoring.Sidecar.Tests.SharedState;

/// <summary>
/// What every store does with pending predictions, against the real ones (a SQLite file, a redis-server): a label
/// claims its prediction once, gets back what was predicted, and learns why when it cannot (unknown, duplicate,
/// expired, the other kind); the TTL and MaxPending bound what waits, and sweeps count what they expire.
/// </summary>
public sealed class PendingPredictionStoreTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000);

    public static TheoryData<string> Stores => SharedStateStores.Kinds;

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task A_label_claims_its_prediction_once_and_gets_back_what_was_predicted(string kind)
    {
        await using var stores = await SharedStateStores.CreateAsync(kind);
        var store = stores.Store;
        var model = stores.Registry.Get("fraud model: é|1", "v1.2");  // separators and multi-byte characters in a name
        var price = stores.Registry.Get("price", "2024-06");
        store.Remember("c-1", new PendingPrediction(model, model.GetClass("fraud"), 0, 0.8125f, T0.ToUnixTimeMilliseconds()));
        store.Remember("c-1", new PendingPrediction(model, model.GetClass("legit"), 0, 0.5f, T0.ToUnixTimeMilliseconds() + 5)); // a repeated id keeps the first
        store.Remember("r-1", new PendingPrediction(price, null, 1234.5678901234567, float.NaN, T0.ToUnixTimeMilliseconds() + 10));
        await store.FlushAsync(default);
        var now = T0.AddMinutes(1);

        var claim = await store.ClaimAsync("c-1", labelIsClass: true, now, default);
        Assert.Equal(ClaimOutcome.Claimed, claim.Outcome);
        Assert.Equal((model, "fraud", 0.8125f, T0.ToUnixTimeMilliseconds()), (claim.Prediction.Model, claim.Prediction.PredictedClass!.Name, claim.Prediction.Confidence, claim.Prediction.TimeMs));
        Assert.Equal(ClaimOutcome.Duplicate, (await store.ClaimAsync("c-1", labelIsClass: true, now, default)).Outcome);
        Assert.Equal(ClaimOutcome.Unknown, (await store.ClaimAsync("nobody", labelIsClass: true, now, default)).Outcome);

        // A class for a regression: refused, and the prediction still waits for its value.
        Assert.Equal(ClaimOutcome.Mismatch, (await store.ClaimAsync("r-1", labelIsClass: true, now, default)).Outcome);
        var value = await store.ClaimAsync("r-1", labelIsClass: false, now, default);
        Assert.Equal(ClaimOutcome.Claimed, value.Outcome);
        Assert.Equal((price, (ClassSeries?)null, 1234.5678901234567, true), (value.Prediction.Model, value.Prediction.PredictedClass, value.Prediction.PredictedValue, float.IsNaN(value.Prediction.Confidence)));

        // Outcomes find a prediction, labelled or not, without claiming it.
        Assert.Equal("fraud", (await store.FindAsync("c-1", default))?.PredictedClass?.Name);
        Assert.Null(await store.FindAsync("nobody", default));
    }

    /// <summary>The container disposes the store once for each role it was resolved as.</summary>
    [Theory]
    [MemberData(nameof(Stores))]
    public async Task A_store_disposed_again_is_left_as_it_was(string kind)
    {
        await using var stores = await SharedStateStores.CreateAsync(kind);

        await stores.Store.DisposeAsync();
        var again = await Record.ExceptionAsync(() => stores.Store.DisposeAsync().AsTask());

        Assert.Null(again);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task A_prediction_past_its_ttl_is_expired_when_claimed_and_when_swept(string kind)
    {
        var ttl = TimeSpan.FromHours(1);
        await using var stores = await SharedStateStores.CreateAsync(kind, new PendingPredictionLimits { Ttl = ttl });
        var store = stores.Store;
        var model = stores.Registry.Get("fraud", "v1");
        store.Remember("old-1", new PendingPrediction(model, model.GetClass("fraud"), 0, 0.9f, T0.ToUnixTimeMilliseconds()));
        store.Remember("old-2", new PendingPrediction(model, model.GetClass("fraud"), 0, 0.9f, T0.ToUnixTimeMilliseconds() + 1));
        store.Remember("new", new PendingPrediction(model, model.GetClass("legit"), 0, 0.7f, (T0 + ttl).ToUnixTimeMilliseconds()));
        await store.FlushAsync(default);
        var later = T0 + ttl + TimeSpan.FromMinutes(1);

        Assert.Equal(ClaimOutcome.Expired, (await store.ClaimAsync("old-1", labelIsClass: true, later, default)).Outcome);
        Assert.Equal(ClaimOutcome.Expired, (await store.ClaimAsync("old-1", labelIsClass: true, later, default)).Outcome);
        var sweep = await store.SweepAsync(later, default);
        Assert.Equal((1L, 0L, 1L), (sweep.ExpiredByTtl, sweep.EvictedForCapacity, sweep.Pending)); // old-2; old-1 was counted by its claim
        Assert.Equal(ClaimOutcome.Expired, (await store.ClaimAsync("old-2", labelIsClass: true, later, default)).Outcome);
        Assert.Equal(ClaimOutcome.Claimed, (await store.ClaimAsync("new", labelIsClass: true, later, default)).Outcome);
    }

    /// <summary>The stores that keep MaxPending as one bound; a partitioned one keeps a share of it per partition.</summary>
    public static TheoryData<string> UnpartitionedStores => ["memory", "sqlite", "redis"];

    [Theory]
    [MemberData(nameof(UnpartitionedStores))]
    public async Task Past_max_pending_a_sweep_evicts_the_oldest_and_counts_them(string kind)
    {
        await using var stores = await SharedStateStores.CreateAsync(kind, new PendingPredictionLimits { MaxPending = 3 });
        var store = stores.Store;
        var now = DateTimeOffset.UtcNow;
        var sweep = await RememberInTurnAndSweepAsync(stores, 5, now);

        // The memory store evicts as it goes; a shared store at its sweep. Either way the two oldest, counted once.
        Assert.Equal((2L, 3L), (sweep.EvictedForCapacity, sweep.Pending));
        Assert.Equal(ClaimOutcome.Expired, (await store.ClaimAsync("p-0", labelIsClass: true, now, default)).Outcome);
        Assert.Equal(ClaimOutcome.Expired, (await store.ClaimAsync("p-1", labelIsClass: true, now, default)).Outcome);
        Assert.Equal(ClaimOutcome.Claimed, (await store.ClaimAsync("p-2", labelIsClass: true, now, default)).Outcome);
    }

    [Fact]
    public async Task A_partitioned_store_keeps_a_share_of_max_pending_per_partition_and_evicts_the_oldest_of_each()
    {
        await using var stores = await SharedStateStores.CreateAsync("redis-partitioned", new PendingPredictionLimits { MaxPending = 8 });
        var store = stores.Store;
        var now = DateTimeOffset.UtcNow;
        var sweep = await RememberInTurnAndSweepAsync(stores, 40, now);

        // Four partitions of at most 2: 8 wait, 32 are evicted and counted, and the newest is one of those that wait.
        Assert.Equal((32L, 8L), (sweep.EvictedForCapacity, sweep.Pending));
        Assert.Equal(ClaimOutcome.Claimed, (await store.ClaimAsync("p-39", labelIsClass: true, now, default)).Outcome);
        Assert.Equal(ClaimOutcome.Expired, (await store.ClaimAsync("p-0", labelIsClass: true, now, default)).Outcome);
    }

    /// <summary>Remembers p-0 … p-(count−1), each a millisecond after the one before, writes them and sweeps once.</summary>
    private static async Task<SweepResult> RememberInTurnAndSweepAsync(SharedStateStores stores, int count, DateTimeOffset now)
    {
        var model = stores.Registry.Get("fraud", "v1");
        for (var i = 0; i < count; i++)
        {
            stores.Store.Remember($"p-{i}", new PendingPrediction(model, model.GetClass("fraud"), 0, 0.9f, now.ToUnixTimeMilliseconds() + i));
        }

        await stores.Store.FlushAsync(default);
        return await stores.Store.SweepAsync(now, default);
    }
}

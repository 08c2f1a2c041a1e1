using MlMonitoring.Sidecar.SharedState;
using MlMonitoring.Sidecar.Tests.Infrastructure;

namespace MlMonitoring.Sidecar.Tests.SharedState;

/// <summary>
/// The one-baseline-per-version rule of every store, against the real ones (a SQLite file, a redis-server): first
/// complete baseline of an epoch wins, a pin announces the next epoch, nothing older overwrites anything newer. And
/// the handover of a stopping replica's windows: taken exactly once, oldest first, after their wait.
/// </summary>
public sealed class SharedBaselineStoreTests
{
    public static TheoryData<string> Stores => SharedStateStores.Kinds;

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task The_first_baseline_of_an_epoch_wins_and_a_pin_announces_the_next(string kind)
    {
        await using var fixture = await SharedStateStores.CreateAsync(kind);
        var store = fixture.Store;

        Assert.True(await store.PublishBaselineAsync(Record(1, complete: true, "first"), default));
        Assert.False(await store.PublishBaselineAsync(Record(1, complete: true, "second"), default));   // completed at once elsewhere
        Assert.False(await store.PublishBaselineAsync(Record(1, complete: false, "pin"), default));     // a pin must be newer
        Assert.Equal(("first", 1L, true), Single(await store.LoadBaselinesAsync(default)));

        Assert.True(await store.PublishBaselineAsync(Record(2, complete: false, "pin"), default));
        Assert.False(await store.PublishBaselineAsync(Record(2, complete: false, "pin again"), default));
        Assert.Equal(("pin", 2L, false), Single(await store.LoadBaselinesAsync(default)));

        Assert.True(await store.PublishBaselineAsync(Record(2, complete: true, "captured"), default));
        Assert.False(await store.PublishBaselineAsync(Record(2, complete: true, "captured too"), default));
        Assert.False(await store.PublishBaselineAsync(Record(1, complete: true, "stale"), default));
        Assert.Equal(("captured", 2L, true), Single(await store.LoadBaselinesAsync(default)));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Of_many_replicas_completing_the_same_epoch_at_once_exactly_one_is_kept(string kind)
    {
        await using var fixture = await SharedStateStores.CreateAsync(kind);

        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(i =>
            Task.Run(async () => (Replica: i, Written: await fixture.Store.PublishBaselineAsync(Record(1, complete: true, $"replica-{i}"), default)))));

        var winner = Assert.Single(results, r => r.Written);
        Assert.Equal(($"replica-{winner.Replica}", 1L, true), Single(await fixture.Store.LoadBaselinesAsync(default)));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Handed_over_windows_wait_their_time_and_are_taken_once_oldest_first(string kind)
    {
        await using var fixture = await SharedStateStores.CreateAsync(kind);
        var store = fixture.Store;
        var t0 = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000);
        await store.HandOverWindowsAsync("aged out"u8.ToArray(), t0, default);
        await store.HandOverWindowsAsync("second"u8.ToArray(), t0.AddMinutes(2), default);
        await store.HandOverWindowsAsync("first"u8.ToArray(), t0.AddMinutes(1), default);

        // Nothing handed over before the cut-off yet; what aged out of every window is dropped unread.
        Assert.Null(await store.TakeHandedOverWindowsAsync(t0.AddMinutes(1), discardBefore: t0.AddSeconds(1), default));
        Assert.Equal("first", Text(await store.TakeHandedOverWindowsAsync(t0.AddMinutes(5), t0.AddSeconds(1), default)));
        Assert.Equal("second", Text(await store.TakeHandedOverWindowsAsync(t0.AddMinutes(5), t0.AddSeconds(1), default)));
        Assert.Null(await store.TakeHandedOverWindowsAsync(t0.AddMinutes(5), t0, default));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Of_many_replicas_asking_at_once_exactly_one_takes_handed_over_windows(string kind)
    {
        await using var fixture = await SharedStateStores.CreateAsync(kind);
        var at = DateTimeOffset.UtcNow;
        await fixture.Store.HandOverWindowsAsync("windows"u8.ToArray(), at, default);

        var taken = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ =>
            Task.Run(async () => await fixture.Store.TakeHandedOverWindowsAsync(at.AddSeconds(1), at.AddDays(-1), default))));

        Assert.Equal("windows", Text(Assert.Single(taken, t => t is not null)));
    }

    private static string Text(byte[]? data) => data is null ? "(none)" : System.Text.Encoding.UTF8.GetString(data);

    private static StoredBaseline Record(long epoch, bool complete, string data) =>
        new("fraud", "v1", epoch, complete, System.Text.Encoding.UTF8.GetBytes(data));

    private static (string Data, long Epoch, bool Complete) Single(IReadOnlyList<StoredBaseline> baselines)
    {
        var baseline = Assert.Single(baselines);
        Assert.Equal(("fraud", "v1"), (baseline.ModelName, baseline.ModelVersion));
        return (System.Text.Encoding.UTF8.GetString(baseline.Data), baseline.Epoch, baseline.Complete);
    }
}

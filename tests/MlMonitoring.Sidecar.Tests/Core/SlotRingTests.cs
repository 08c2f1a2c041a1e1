using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Tests.Core;

public sealed class SlotRingTests
{
    private sealed class Count : SlotRing<Count>.ISlot
    {
        public int Value;

        public void Reset() => Value = 0;
    }

    // A 10 s window in 10 slots of 1 s.
    private static SlotRing<Count> Ring() => new(TimeSpan.FromSeconds(10), 10);

    private static int LiveTotal(SlotRing<Count> ring, long nowMs) => ring.Live(nowMs).Sum(s => s.Value);

    [Fact]
    public void Times_within_the_window_share_the_slot_of_their_second_and_all_are_live()
    {
        var ring = Ring();
        ring.SlotFor(1_000, 1_000)!.Value += 1;
        ring.SlotFor(1_999, 1_999)!.Value += 2;
        ring.SlotFor(5_500, 5_500)!.Value += 4;

        Assert.Same(ring.SlotFor(1_000, 6_000), ring.SlotFor(1_999, 6_000));
        Assert.Equal(7, LiveTotal(ring, 6_000));
    }

    [Fact]
    public void A_slot_leaves_the_window_once_its_second_is_ten_seconds_old()
    {
        var ring = Ring();
        ring.SlotFor(1_000, 1_000)!.Value = 5;
        ring.SlotFor(2_000, 2_000)!.Value = 3;

        Assert.Equal(8, LiveTotal(ring, 10_999));   // second 1 is the oldest of seconds 1..10
        Assert.Equal(3, LiveTotal(ring, 11_000));   // second 1 fell out, second 2 remains
        Assert.Equal(0, LiveTotal(ring, 12_000));
    }

    [Fact]
    public void A_reused_slot_starts_empty()
    {
        var ring = Ring();
        ring.SlotFor(3_000, 3_000)!.Value = 9;

        var reused = ring.SlotFor(13_000, 13_000)!;  // same index, ten seconds later

        Assert.Equal(0, reused.Value);
    }

    [Fact]
    public void Times_too_old_or_more_than_one_slot_ahead_have_no_slot()
    {
        var ring = Ring();

        Assert.Null(ring.SlotFor(0, 10_000));        // 10 s old: outside the window
        Assert.NotNull(ring.SlotFor(1_000, 10_000)); // 9 s old: inside
        Assert.NotNull(ring.SlotFor(11_000, 10_000)); // one slot ahead: a clock a little ahead is tolerated
        Assert.Null(ring.SlotFor(12_000, 10_000));   // two slots ahead
    }

    [Fact]
    public void A_late_time_does_not_overwrite_a_slot_that_holds_newer_data()
    {
        var ring = Ring();
        ring.SlotFor(15_000, 15_000)!.Value = 4;

        // Second 5 maps to the same index as second 15, whose data is newer.
        Assert.Null(ring.SlotFor(5_000, 15_000));
        Assert.Equal(4, LiveTotal(ring, 15_000));
    }
}

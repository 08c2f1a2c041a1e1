using MlMonitoring.Sidecar.Tap;

namespace MlMonitoring.Sidecar.Tests.Tap;

/// <summary>What the tap holds for observation stays within its bounds, per body and for all bodies together.</summary>
public sealed class BodyCaptureTests
{
    [Fact]
    public void A_body_past_its_bound_is_given_up_and_its_bytes_returned_to_the_budget()
    {
        var budget = new CaptureBudget(1 << 20);
        var capture = new BodyCapture(8192, budget);

        capture.Append(new byte[5000]);
        Assert.Equal(5000, capture.Length);
        Assert.True(budget.Held >= 5000);
        capture.Append(new byte[5000]);

        Assert.True(capture.Overflowed);
        Assert.Equal(0, capture.Length);
        Assert.Equal(0, budget.Held);
    }

    [Fact]
    public void Bodies_that_together_would_pass_the_budget_are_given_up_and_the_rest_kept_exactly()
    {
        var budget = new CaptureBudget(64 * 1024);
        var bodies = Enumerable.Range(0, 10).Select(_ => new BodyCapture(1 << 20, budget)).ToList();

        foreach (var body in bodies)
        {
            body.Append(new byte[20_000]);
        }

        var kept = bodies.Where(b => !b.OverBudget).ToList();
        Assert.Equal(2, kept.Count);  // 20,000 bytes each, in pooled buffers of 32 KiB: two fit in 64 KiB
        Assert.All(kept, b => Assert.Equal(20_000, b.Length));
        Assert.All(bodies.Where(b => b.OverBudget), b => Assert.Equal(0, b.Length));
        Assert.True(budget.Held <= 64 * 1024);

        foreach (var body in bodies)
        {
            body.Release();
        }

        Assert.Equal(0, budget.Held);
        var again = new BodyCapture(1 << 20, budget);
        again.Append(new byte[20_000]);
        Assert.False(again.OverBudget);
    }
}

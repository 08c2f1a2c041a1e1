using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Tests.Core;

/// <summary>
/// BucketQuantile against a plain reference written here from Prometheus' documented rule for histogram_quantile:
/// linear interpolation inside the bucket that holds the rank, the lowest bucket starting at 0, and the highest
/// finite bound for a rank in +Inf.
/// </summary>
public sealed class BucketQuantileTests
{
    private static readonly double[] Bounds = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

    private static double Reference(double q, double[] bounds, long[] counts)
    {
        var total = counts.Sum();
        if (total == 0)
        {
            return double.NaN;
        }

        var rank = q * total;
        var cumulative = new long[counts.Length];
        for (var i = 0; i < counts.Length; i++)
        {
            cumulative[i] = counts[i] + (i > 0 ? cumulative[i - 1] : 0);
        }

        var b = Array.FindIndex(cumulative, c => c >= rank && c > 0);
        while (counts[b] == 0)
        {
            b++;
        }

        if (b == bounds.Length)
        {
            return bounds[^1];
        }

        var start = b == 0 ? 0 : bounds[b - 1];
        var below = b == 0 ? 0 : cumulative[b - 1];
        return start + ((bounds[b] - start) * (rank - below) / counts[b]);
    }

    [Theory]
    [InlineData(0.5, new long[] { 0, 0, 10, 10, 0, 0, 0, 0, 0 }, 0.05)]   // the median at the top of the third bucket
    [InlineData(0.75, new long[] { 0, 0, 10, 10, 0, 0, 0, 0, 0 }, 0.075)] // halfway through the fourth
    [InlineData(0.5, new long[] { 4, 0, 0, 0, 0, 0, 0, 0, 0 }, 0.005)]    // the lowest bucket starts at 0
    [InlineData(0.99, new long[] { 1, 0, 0, 0, 0, 0, 0, 0, 99 }, 2.5)]    // in +Inf: the highest finite bound
    public void Estimates_are_the_values_histogram_quantile_gives(double q, long[] counts, double expected)
    {
        Assert.Equal(expected, BucketQuantile.Estimate(q, Bounds, counts), 12);
        Assert.Equal(Reference(q, Bounds, counts), BucketQuantile.Estimate(q, Bounds, counts), 12);
    }

    [Fact]
    public void Estimates_agree_with_the_reference_on_random_histograms()
    {
        var random = new Random(7);
        for (var trial = 0; trial < 500; trial++)
        {
            var counts = Enumerable.Range(0, Bounds.Length + 1).Select(_ => random.Next(4) == 0 ? 0L : random.Next(1, 1000)).ToArray();
            if (counts.Sum() == 0)
            {
                continue;
            }

            foreach (var q in new[] { 0.01, 0.5, 0.9, 0.95, 0.99, 1.0 })
            {
                Assert.Equal(Reference(q, Bounds, counts), BucketQuantile.Estimate(q, Bounds, counts), 12);
            }
        }
    }

    [Fact]
    public void No_observations_have_no_quantile()
    {
        Assert.True(double.IsNaN(BucketQuantile.Estimate(0.5, Bounds, new long[Bounds.Length + 1])));
    }
}

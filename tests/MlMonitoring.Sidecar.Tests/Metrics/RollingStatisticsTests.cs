using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Tests.Metrics;

public sealed class RollingStatisticsTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Statistics_equal_a_two_pass_reference_across_slots()
    {
        var window = TimeSpan.FromMinutes(5);
        var statistics = new RollingStatistics(window);
        var random = new Random(7);
        var values = new List<double>();
        for (var i = 0; i < 5_000; i++)
        {
            // Large offset: a naive sum of squares loses the variance here; Welford and Chan's merge do not.
            var value = 1e6 + (random.NextDouble() * 10);
            values.Add(value);
            statistics.Add(value, Start + TimeSpan.FromMilliseconds(i * 50)); // 250 s: spread over 9 slots
        }

        var snapshot = statistics.Read(Start + TimeSpan.FromSeconds(250));

        var mean = values.Sum() / values.Count;
        var std = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / values.Count);
        Assert.Equal(values.Count, snapshot.Count);
        Assert.Equal(mean, snapshot.Mean, 1e-9);
        Assert.Equal(std, snapshot.StandardDeviation, 1e-6);
        Assert.Equal(values.Min(), snapshot.Min);
        Assert.Equal(values.Max(), snapshot.Max);
    }

    [Fact]
    public void Values_older_than_the_window_are_forgotten()
    {
        var statistics = new RollingStatistics(TimeSpan.FromSeconds(100));
        statistics.Add(1000, Start);
        statistics.Add(1, Start + TimeSpan.FromSeconds(95));
        statistics.Add(3, Start + TimeSpan.FromSeconds(99));

        var snapshot = statistics.Read(Start + TimeSpan.FromSeconds(105));

        Assert.Equal(2, snapshot.Count);
        Assert.Equal(2, snapshot.Mean);
        Assert.Equal(1, snapshot.StandardDeviation);
        Assert.Equal(1, snapshot.Min);
        Assert.Equal(3, snapshot.Max);
    }

    [Fact]
    public void A_window_without_values_reads_empty()
    {
        var statistics = new RollingStatistics(TimeSpan.FromSeconds(10));
        statistics.Add(5, Start);

        Assert.Equal(0, statistics.Read(Start + TimeSpan.FromSeconds(11)).Count);
    }
}

using Google.Protobuf;
using MlMonitoring.Internal.V1;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Tests.Core;

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
    public void Another_replicas_window_merged_in_gives_the_statistics_of_all_the_values_and_skips_what_aged_out()
    {
        var window = TimeSpan.FromMinutes(5);
        var stays = new RollingStatistics(window);
        var stopped = new RollingStatistics(window);
        var all = new RollingStatistics(window);
        var random = new Random(11);
        var values = new List<double>();
        for (var i = 0; i < 6_000; i++)
        {
            var value = 50 + (random.NextDouble() * 20) - (i % 3 == 0 ? 40 : 0);
            var at = Start + TimeSpan.FromMilliseconds(i * 60); // 360 s: the first minute ages out by the merge
            (random.Next(3) == 0 ? stays : stopped).Add(value, at);
            all.Add(value, at);
            if (at > Start + TimeSpan.FromSeconds(60))
            {
                values.Add(value);
            }
        }

        var now = Start + TimeSpan.FromSeconds(360);
        // Through its bytes, as it travels between replicas.
        var record = FeatureWindowRecord.Parser.ParseFrom(stopped.Export("x", now).ToByteArray());
        var merged = stays.Merge(record, now);

        var expected = all.Read(now);
        var actual = stays.Read(now);
        Assert.True(merged > 0);
        Assert.Equal(expected.Count, actual.Count);
        Assert.InRange(values.Count - expected.Count, 0, values.Count / 10); // a read covers 9 to 10 tenths
        Assert.Equal(expected.Mean, actual.Mean, 1e-9);
        Assert.Equal(expected.StandardDeviation, actual.StandardDeviation, 1e-9);
        Assert.Equal((expected.Min, expected.Max), (actual.Min, actual.Max));
        // The sketches merge bucket by bucket: the quantiles are those of one sketch of all the values.
        Assert.Equal((expected.P50, expected.P95, expected.P99), (actual.P50, actual.P95, actual.P99));
        Assert.Equal(0, new RollingStatistics(TimeSpan.FromMinutes(1)).Merge(record, now)); // another window length
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

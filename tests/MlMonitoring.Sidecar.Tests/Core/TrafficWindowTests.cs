using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Tests.Core;

public sealed class TrafficWindowTests
{
    private static readonly double[] Bounds = [0.01, 0.1, 1.0];

    [Fact]
    public void Requests_errors_and_latency_buckets_are_counted_with_bounds_inclusive()
    {
        var window = new TrafficWindow(TimeSpan.FromMinutes(5), Bounds);
        window.Record(0.01, isError: false, 1_000);  // on a bound: that bucket (le="0.01")
        window.Record(0.05, isError: false, 2_000);
        window.Record(0.1, isError: true, 3_000);
        window.Record(7.0, isError: true, 4_000);    // past the last bound: +Inf

        var read = window.Read(5_000);

        Assert.Equal((4L, 2L), (read.Requests, read.Errors));
        Assert.Equal([1L, 2L, 0L, 1L], read.LatencyCounts);
    }

    [Fact]
    public void Traffic_older_than_the_window_is_no_longer_counted()
    {
        var window = new TrafficWindow(TimeSpan.FromSeconds(10), Bounds);
        window.Record(0.05, isError: false, 0);
        window.Record(0.05, isError: true, 9_500);

        Assert.Equal(2, window.Read(9_999).Requests);
        var later = window.Read(12_000);
        Assert.Equal((1L, 1L), (later.Requests, later.Errors));
        Assert.Equal(0, window.Read(30_000).Requests);
    }
}

using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Tests.Infrastructure;

namespace MlMonitoring.Sidecar.Tests.Core;

public sealed class BoundedSeriesMapTests : IDisposable
{
    private readonly TestMeterFactory _meters = new();
    private readonly SeriesLimiter _limiter;
    private int _overflows;
    private readonly System.Diagnostics.Metrics.MeterListener _listener = new();

    public BoundedSeriesMapTests()
    {
        var options = Options.Create(new MonitoringOptions());
        _limiter = new SeriesLimiter(options.Value.Limits, new SidecarMetrics(_meters, options));
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            // Only this test's meter: other tests record overflows of their own meanwhile.
            if (instrument.Name == "ml_sidecar_cardinality_overflow" && _meters.Meters.Contains(instrument.Meter))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _overflows, (int)value));
        _listener.Start();
    }

    [Fact]
    public void Values_past_the_limit_fold_into_the_overflow_entry_and_each_is_counted()
    {
        var created = new List<string>();
        var map = new BoundedSeriesMap<string, string>(_limiter, SeriesLimit.Classes, 2, key => { created.Add(key); return "series:" + key; }, _ => "__other__");

        Assert.Equal("series:a", map.Get("a"));
        Assert.Equal("series:b", map.Get("b"));
        Assert.Equal("series:__other__", map.Get("c"));
        Assert.Equal("series:__other__", map.Get("d"));
        Assert.Equal("series:a", map.Get("a"));

        Assert.Equal(["a", "b", "__other__"], created);
        Assert.Equal(2, _overflows);
        Assert.Null(map.Find("c"));
        Assert.Equal(3, map.Values.Count);
    }

    [Fact]
    public void Without_an_overflow_entry_values_past_the_limit_are_refused_and_counted()
    {
        var map = new BoundedSeriesMap<string, string>(_limiter, SeriesLimit.Features, 1, key => key, overflowKey: null);

        Assert.Equal("x", map.Get("x"));
        Assert.Null(map.Get("y"));
        Assert.Equal(1, _overflows);
        Assert.Single(map.Values);
    }

    [Fact]
    public void Concurrent_first_sightings_create_each_entry_once_and_never_exceed_the_limit()
    {
        var creations = 0;
        var map = new BoundedSeriesMap<int, object>(_limiter, SeriesLimit.Categories, 50, _ => { Interlocked.Increment(ref creations); return new object(); }, overflowKey: null);

        Parallel.For(0, 10_000, i => map.Get(i % 200));

        Assert.Equal(50, map.Values.Count);
        Assert.Equal(50, creations);
        Assert.Equal(10_000 - (50 * 50), _overflows);
    }

    public void Dispose()
    {
        _listener.Dispose();
        _meters.Dispose();
    }
}

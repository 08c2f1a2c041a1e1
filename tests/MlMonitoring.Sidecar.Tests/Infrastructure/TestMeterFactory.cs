using System.Diagnostics.Metrics;

namespace MlMonitoring.Sidecar.Tests.Infrastructure;

/// <summary>A plain IMeterFactory for unit tests that build sidecar types without a host.</summary>
public sealed class TestMeterFactory : IMeterFactory
{
    private readonly List<Meter> _meters = [];

    /// <summary>The meters this factory made, to listen to them alone while other tests run beside.</summary>
    public IReadOnlyList<Meter> Meters => _meters;

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(options.Name, options.Version);
        _meters.Add(meter);
        return meter;
    }

    public void Dispose()
    {
        foreach (var meter in _meters)
        {
            meter.Dispose();
        }
    }
}

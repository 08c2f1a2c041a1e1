using System.Diagnostics.Metrics;

namespace MlMonitoring.Sidecar.Core;

/// <summary>
/// Instruments published on the first use of what they report rather than at start. The OpenTelemetry SDK gives
/// every published instrument storage for its series up front, as many as its limit allows; a sidecar that never receives a label, runs without drift or has no SLO file does not pay
/// for the instruments of those. Until then the instruments have nothing to report, so a scrape shows the same
/// either way.
/// </summary>
internal sealed class DeferredInstruments(Meter meter, Action<Meter> publish)
{
    private readonly Lock _gate = new();
    private volatile bool _published;

    /// <summary>Publishes the instruments, once; later calls cost one read.</summary>
    public void EnsurePublished()
    {
        if (_published)
        {
            return;
        }

        lock (_gate)
        {
            if (!_published)
            {
                publish(meter);
                _published = true;
            }
        }
    }
}

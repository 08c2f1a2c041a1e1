using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Ingest;
using MlMonitoring.Sidecar.Ingest.Wire;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Tests.Infrastructure;

/// <summary>Lets tests written with generated messages reach the wire-level ingest path the service uses.</summary>
internal static class WireEvents
{
    /// <summary>Validates the event as the service sees it: encoded, then read by <see cref="PredictionWireReader"/>.</summary>
    public static Violation? Validate(this PredictionValidator validator, PredictionEvent e) => validator.Validate(PredictionWireReader.ReadEvent(e));
}

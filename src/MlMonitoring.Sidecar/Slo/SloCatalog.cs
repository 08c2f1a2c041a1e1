using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Slo;

/// <summary>
/// The SLOs of <c>Monitoring:SloFile</c>, read at start (a file that does not load has stopped the start already,
/// in <see cref="SloOptionsValidator"/>). Their latency thresholds become bucket boundaries of
/// <c>ml_prediction_latency_seconds</c>, so that "the share of requests under the target" is an exact ratio of two
/// counters rather than an interpolation.
/// </summary>
internal sealed class SloCatalog
{
    public SloCatalog(IOptions<SloOptions> options)
    {
        var path = options.Value.SloFile;
        Objectives = string.IsNullOrEmpty(path) ? [] : SloDocument.Load(path);
    }

    public IReadOnlyList<ServiceLevelObjective> Objectives { get; }

    /// <summary>The latency buckets with every SLO latency threshold added.</summary>
    public LatencyBoundaries CreateLatencyBoundaries() =>
        new(Objectives.Where(o => o.Kind == SloKind.Latency).Select(o => o.LatencyThresholdSeconds!.Value));

    /// <summary>Every SLO time-to-first-token threshold, in seconds: the tap adds them to its buckets.</summary>
    public IEnumerable<double> TimeToFirstTokenTargets =>
        Objectives.Where(o => o.Kind == SloKind.TimeToFirstToken).Select(o => o.LatencyThresholdSeconds!.Value);

    public IEnumerable<ServiceLevelObjective> For(string modelName) => Objectives.Where(o => o.ModelName == modelName);
}

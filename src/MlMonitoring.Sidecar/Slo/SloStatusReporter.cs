using System.Diagnostics.Metrics;
using Google.Protobuf.WellKnownTypes;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.GroundTruth;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Slo;

/// <summary>
/// The SLOs' status as the sidecar measures it: availability and latency over <c>Monitoring:StatusWindow</c>,
/// accuracy over the ground-truth window. Exported as <c>ml_slo_objective</c>, <c>ml_slo_sli</c> and
/// <c>ml_slo_burn_rate</c>, and returned by <c>GetModelStatus</c>.
/// </summary>
internal sealed class SloStatusReporter
{
    private readonly SloCatalog _catalog;
    private readonly ModelVersionRegistry _registry;
    private readonly QualityWindows _quality;
    private readonly TimeProvider _time;

    public SloStatusReporter(SloCatalog catalog, ModelVersionRegistry registry, QualityWindows quality, IMeterFactory meterFactory, TimeProvider time)
    {
        _catalog = catalog;
        _registry = registry;
        _quality = quality;
        _time = time;
        if (_catalog.Objectives.Count == 0)
        {
            // No SLO file: nothing to report, and no series storage spent on it (see DeferredInstruments).
            return;
        }

        var meter = meterFactory.Create(MeterNames.Predictions);
        meter.CreateObservableGauge("ml_slo_objective", () => _catalog.Objectives.Select(o =>
            new Measurement<double>(o.Objective, [new(LabelNames.ModelName, o.ModelName), new("slo", o.Name)])),
            description: "SLO objectives of Monitoring:SloFile: the share of good events aimed for.");
        meter.CreateObservableGauge("ml_slo_sli", () => Observe(s => s.Sli),
            description: "Share of good events as the sidecar measures it (availability and latency over Monitoring:StatusWindow, accuracy over the ground-truth window).");
        meter.CreateObservableGauge("ml_slo_burn_rate", () => Observe(s => s.BurnRate),
            description: "(1 - SLI) / (1 - objective): how fast the error budget is spent; 1 spends it exactly over the SLO window.");
    }

    /// <summary>The status of every SLO of a model version that has events to measure.</summary>
    public IEnumerable<SloStatus> Measure(ModelVersionState model)
    {
        var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        TrafficSnapshot? traffic = null;
        QualitySnapshot? quality = null;
        foreach (var slo in _catalog.For(model.ModelName))
        {
            if (slo.Kind == SloKind.TimeToFirstToken)
            {
                // Measured from the tap's GenAI histogram by the generated rules only; the sidecar keeps no window of it.
                continue;
            }

            long good, total;
            TimeSpan over;
            if (slo.Kind == SloKind.Accuracy)
            {
                quality ??= _quality.Find(model)?.Read(nowMs);
                total = quality?.ClassificationCount ?? 0;
                good = quality is null || total == 0 ? 0 : (long)Math.Round(quality.Accuracy * total);
                over = _quality.Window;
            }
            else
            {
                traffic ??= model.Traffic.Read(nowMs);
                total = traffic.Requests;
                good = slo.Kind == SloKind.Availability ? traffic.Requests - traffic.Errors : WithinThreshold(model.Traffic, traffic, slo.LatencyThresholdSeconds!.Value);
                over = model.Traffic.Window;
            }

            if (total == 0)
            {
                continue;
            }

            var sli = (double)good / total;
            yield return new SloStatus
            {
                Slo = slo.Name,
                Objective = slo.Objective,
                Sli = sli,
                BurnRate = (1 - sli) / slo.ErrorBudget,
                MeasuredOver = Duration.FromTimeSpan(over),
                Events = (ulong)total,
            };
        }
    }

    /// <summary>Requests at or under the threshold: exact, since the threshold is one of the bucket boundaries.</summary>
    private static long WithinThreshold(TrafficWindow window, TrafficSnapshot traffic, double threshold)
    {
        long within = 0;
        for (var i = 0; i < window.LatencyBoundaries.Length && window.LatencyBoundaries[i] <= threshold; i++)
        {
            within += traffic.LatencyCounts[i];
        }

        return within;
    }

    private IEnumerable<Measurement<double>> Observe(Func<SloStatus, double> value)
    {
        foreach (var modelName in _catalog.Objectives.Select(o => o.ModelName).Distinct())
        {
            foreach (var model in _registry.VersionsOf(modelName))
            {
                foreach (var status in Measure(model))
                {
                    yield return new(value(status), [.. model.Tags, new("slo", status.Slo)]);
                }
            }
        }
    }
}

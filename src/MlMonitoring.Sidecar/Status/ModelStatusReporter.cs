using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Drift;
using MlMonitoring.Sidecar.GroundTruth;
using MlMonitoring.Sidecar.Slo;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Status;

/// <summary>
/// Answers <c>GetModelStatus</c>: the live picture of one model version from the sidecar's own windows, with the
/// same quantile interpolation Prometheus applies to the exported buckets. The figures are this process's: with
/// <c>Monitoring:Replicated</c> the answer says they are one replica's share (<see cref="FigureScope.Replica"/>).
/// </summary>
internal sealed class ModelStatusReporter(
    ModelVersionRegistry registry,
    GroundTruthInstruments groundTruth,
    QualityWindows qualityWindows,
    DriftRegistry drift,
    SloStatusReporter slos,
    IOptions<MonitoringOptions> options,
    TimeProvider time)
{
    private readonly FigureScope _scope = options.Value.Replicated ? FigureScope.Replica : FigureScope.Process;

    public ModelStatus Report(ModelStatusRequest request)
    {
        var model = registry.Resolve(request.ModelName, request.ModelVersion);
        var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        var traffic = model.Traffic.Read(nowMs);
        var seconds = model.Traffic.Window.TotalSeconds;
        var status = new ModelStatus
        {
            ModelName = model.ModelName,
            ModelVersion = model.ModelVersion,
            Scope = _scope,
            TrafficWindow = Duration.FromTimeSpan(model.Traffic.Window),
            RequestRate = traffic.Requests / seconds,
            ErrorRate = traffic.Requests == 0 ? 0 : (double)traffic.Errors / traffic.Requests,
            LatencyP50Seconds = ZeroIfNaN(BucketQuantile.Estimate(0.50, model.Traffic.LatencyBoundaries, traffic.LatencyCounts)),
            LatencyP95Seconds = ZeroIfNaN(BucketQuantile.Estimate(0.95, model.Traffic.LatencyBoundaries, traffic.LatencyCounts)),
            LatencyP99Seconds = ZeroIfNaN(BucketQuantile.Estimate(0.99, model.Traffic.LatencyBoundaries, traffic.LatencyCounts)),
            QualityWindow = Duration.FromTimeSpan(qualityWindows.Window),
            PendingPredictions = (ulong)Math.Max(0, groundTruth.Pending),
        };

        if (qualityWindows.Find(model)?.Read(nowMs) is { SampleSize: > 0 } quality)
        {
            status.SampleSize = (ulong)quality.SampleSize;
            status.LabelDelayP50Seconds = ZeroIfNaN(BucketQuantile.Estimate(0.50, QualityWindow.DelayBuckets, quality.DelayCounts));
            status.LabelDelayP95Seconds = ZeroIfNaN(BucketQuantile.Estimate(0.95, QualityWindow.DelayBuckets, quality.DelayCounts));
            if (quality.ClassificationCount > 0)
            {
                status.Accuracy = quality.Accuracy;
                status.PrecisionMacro = quality.PrecisionMacro;
                status.RecallMacro = quality.RecallMacro;
                status.F1Macro = quality.F1Macro;
                status.Classes.AddRange(quality.Classes.Select(c => new ClassQuality
                {
                    ClassName = c.ClassName, Precision = c.Precision, Recall = c.Recall, F1 = c.F1, Support = (ulong)c.Support,
                }));
            }

            if (!double.IsNaN(quality.CalibrationError))
            {
                status.CalibrationError = quality.CalibrationError;
            }

            if (quality.RegressionCount > 0)
            {
                status.RegressionSampleSize = (ulong)quality.RegressionCount;
                status.Mae = quality.MeanAbsoluteError;
                status.Rmse = quality.RootMeanSquaredError;
            }
        }

        status.Slos.AddRange(slos.Measure(model));
        if (drift.Read(model) is { } driftSnapshot)
        {
            status.BaselineEvents = (ulong)driftSnapshot.BaselineEvents;
            status.BaselinePinned = driftSnapshot.Pinned;
            status.Drift.AddRange(driftSnapshot.Signals);
            if (driftSnapshot.EstimatedAccuracy is { } estimate)
            {
                status.EstimatedAccuracy = estimate;
            }
        }

        return status;
    }

    private static double ZeroIfNaN(double value) => double.IsNaN(value) ? 0 : value;
}

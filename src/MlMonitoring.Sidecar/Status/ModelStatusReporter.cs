using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Drift;
using MlMonitoring.Sidecar.GroundTruth;
using MlMonitoring.Sidecar.Slo;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Status;

/// <summary>
/// Answers <c>GetModelStatus</c>: the live picture of one model version from the sidecar's own windows, with the
/// same quantile interpolation Prometheus applies to the exported buckets.
/// </summary>
internal sealed class ModelStatusReporter(
    ModelVersionRegistry registry, GroundTruthInstruments groundTruth, DriftRegistry drift, SloStatusReporter slos, TimeProvider time)
{
    public ModelStatus Report(ModelStatusRequest request)
    {
        if (request.ModelName.Length == 0)
        {
            throw new RpcException(new Grpc.Core.Status(StatusCode.InvalidArgument, "model_name: required"));
        }

        var model = Find(request);
        var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        var traffic = model.Traffic.Read(nowMs);
        var seconds = model.Traffic.Window.TotalSeconds;
        var status = new ModelStatus
        {
            ModelName = model.ModelName,
            ModelVersion = model.ModelVersion,
            TrafficWindow = Duration.FromTimeSpan(model.Traffic.Window),
            RequestRate = traffic.Requests / seconds,
            ErrorRate = traffic.Requests == 0 ? 0 : (double)traffic.Errors / traffic.Requests,
            LatencyP50Seconds = ZeroIfNaN(BucketQuantile.Estimate(0.50, model.Traffic.LatencyBoundaries, traffic.LatencyCounts)),
            LatencyP95Seconds = ZeroIfNaN(BucketQuantile.Estimate(0.95, model.Traffic.LatencyBoundaries, traffic.LatencyCounts)),
            LatencyP99Seconds = ZeroIfNaN(BucketQuantile.Estimate(0.99, model.Traffic.LatencyBoundaries, traffic.LatencyCounts)),
            QualityWindow = Duration.FromTimeSpan(groundTruth.Window),
            PendingPredictions = (ulong)Math.Max(0, groundTruth.Pending),
        };

        if (groundTruth.FindWindow(model)?.Read(nowMs) is { SampleSize: > 0 } quality)
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

    /// <summary>Starts a new drift baseline for the model version named by the request.</summary>
    public PinBaselineResponse PinBaseline(PinBaselineRequest request)
    {
        if (request.ModelName.Length == 0)
        {
            throw new RpcException(new Grpc.Core.Status(StatusCode.InvalidArgument, "model_name: required"));
        }

        if (!drift.Enabled)
        {
            throw new RpcException(new Grpc.Core.Status(StatusCode.FailedPrecondition, "drift is off (Monitoring:Drift:Enabled)"));
        }

        var model = Find(new ModelStatusRequest { ModelName = request.ModelName, ModelVersion = request.ModelVersion });
        return new PinBaselineResponse { BaselineSize = (ulong)drift.Restart(model, (int)Math.Min(request.BaselineSize, int.MaxValue)) };
    }

    private ModelVersionState Find(ModelStatusRequest request)
    {
        var versions = registry.VersionsOf(request.ModelName);
        if (versions.Count == 0)
        {
            throw new RpcException(new Grpc.Core.Status(StatusCode.NotFound, $"model_name: no events seen for model '{request.ModelName}'"));
        }

        if (request.ModelVersion.Length == 0)
        {
            return versions.Count == 1
                ? versions.First()
                : throw new RpcException(new Grpc.Core.Status(StatusCode.InvalidArgument,
                    $"model_version: required, model '{request.ModelName}' has versions {string.Join(", ", versions.Select(v => v.ModelVersion).Order(StringComparer.Ordinal))}"));
        }

        return versions.FirstOrDefault(v => v.ModelVersion == request.ModelVersion)
            ?? throw new RpcException(new Grpc.Core.Status(StatusCode.NotFound,
                $"model_version: no events seen for version '{request.ModelVersion}' of model '{request.ModelName}'"));
    }

    private static double ZeroIfNaN(double value) => double.IsNaN(value) ? 0 : value;
}

using Grpc.Core;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Drift;

/// <summary>Answers <c>PinBaseline</c>: the next events of the named model version become its new drift baseline.</summary>
internal sealed class BaselinePinner(ModelVersionRegistry registry, DriftRegistry drift)
{
    public PinBaselineResponse Pin(PinBaselineRequest request)
    {
        if (request.ModelName.Length == 0)
        {
            throw new RpcException(new Grpc.Core.Status(StatusCode.InvalidArgument, "model_name: required"));
        }

        if (!drift.Enabled)
        {
            throw new RpcException(new Grpc.Core.Status(StatusCode.FailedPrecondition, "drift is off (Monitoring:Drift:Enabled)"));
        }

        var model = registry.Resolve(request.ModelName, request.ModelVersion);
        return new PinBaselineResponse { BaselineSize = (ulong)drift.Restart(model, (int)Math.Min(request.BaselineSize, int.MaxValue)) };
    }
}

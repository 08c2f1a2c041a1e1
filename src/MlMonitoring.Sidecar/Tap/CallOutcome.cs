using System.Globalization;
using MlMonitoring.V1;
using Yarp.ReverseProxy.Forwarder;

namespace MlMonitoring.Sidecar.Tap;

/// <summary>How a forwarded call failed, as an error kind of the contract and a low-cardinality error type.</summary>
internal readonly record struct CallFailure(ErrorKind Kind, string ErrorType, string GenAiErrorType);

/// <summary>Maps HTTP and gRPC statuses and forwarding errors to the contract's error kinds.</summary>
internal static class CallOutcome
{
    /// <summary>The failure of a call, or null when it succeeded.</summary>
    public static CallFailure? FailureOf(TappedCall call, bool grpc)
    {
        if (call.Error == ForwarderError.RequestTimedOut)
        {
            return new(ErrorKind.Timeout, "upstream_timeout", "timeout");
        }

        if (call.Error is not ForwarderError.None)
        {
            // The model server could not be reached, or the exchange broke off.
            return new(ErrorKind.Server, "upstream_unavailable", "upstream_unavailable");
        }

        if (grpc)
        {
            return call.GrpcStatus switch
            {
                <= 0 => null,
                4 => new(ErrorKind.Timeout, "grpc_deadline_exceeded", "DEADLINE_EXCEEDED"),
                3 or 5 or 9 or 11 => new(ErrorKind.InvalidInput, GrpcType(call.GrpcStatus), GrpcName(call.GrpcStatus)),
                _ => new(ErrorKind.Server, GrpcType(call.GrpcStatus), GrpcName(call.GrpcStatus)),
            };
        }

        var status = call.StatusCode;
        var code = status.ToString(CultureInfo.InvariantCulture);
        return status switch
        {
            408 or 504 => new(ErrorKind.Timeout, "http_" + code, code),
            >= 500 => new(ErrorKind.Server, "http_" + code, code),
            >= 400 => new(ErrorKind.InvalidInput, "http_" + code, code),
            _ => null,
        };
    }

    private static string GrpcType(int status) => "grpc_" + GrpcName(status).ToLowerInvariant();

    private static string GrpcName(int status) => status switch
    {
        1 => "CANCELLED",
        2 => "UNKNOWN",
        3 => "INVALID_ARGUMENT",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        10 => "ABORTED",
        11 => "OUT_OF_RANGE",
        12 => "UNIMPLEMENTED",
        13 => "INTERNAL",
        14 => "UNAVAILABLE",
        15 => "DATA_LOSS",
        16 => "UNAUTHENTICATED",
        _ => "STATUS_" + status.ToString(CultureInfo.InvariantCulture),
    };
}

using System.Diagnostics;
using Yarp.ReverseProxy.Forwarder;

namespace MlMonitoring.Sidecar.Tap;

/// <summary>The inference operations the tap understands, each a protocol and a call of it.</summary>
internal enum TapOperation
{
    /// <summary>Not understood: forwarded, counted, not observed.</summary>
    None,

    /// <summary>Open Inference Protocol REST: <c>POST /v2/models/{model}[/versions/{version}]/infer</c>.</summary>
    OpenInferenceRest,

    /// <summary>Open Inference Protocol gRPC: <c>inference.GRPCInferenceService/ModelInfer</c>.</summary>
    OpenInferenceGrpc,

    /// <summary>KServe v1: <c>POST /v1/models/{model}:predict</c>.</summary>
    KServeV1,

    /// <summary>OpenAI-compatible <c>POST /v1/chat/completions</c>.</summary>
    ChatCompletions,

    /// <summary>OpenAI-compatible <c>POST /v1/completions</c>.</summary>
    Completions,

    /// <summary>OpenAI-compatible <c>POST /v1/embeddings</c>.</summary>
    Embeddings,
}

/// <summary>
/// One forwarded call as the observer gets it: what the path said, bounded copies of both bodies, when the response
/// began and ended, and how the call ended. Filled on the forwarding path, read by the observer after the call.
/// </summary>
internal sealed class TappedCall(TapOperation operation, string? pathModel, string? pathVersion, int bodyLimit, CaptureBudget budget, long started)
{
    public TapOperation Operation { get; } = operation;

    /// <summary>The model named by the path (v2 and v1); null for protocols that name it in the body.</summary>
    public string? PathModel { get; } = pathModel;

    public string? PathVersion { get; } = pathVersion;

    /// <summary>The configured prediction-id header's value, if the call had it.</summary>
    public string? PredictionIdHeader { get; set; }

    public BodyCapture Request { get; } = new(bodyLimit, budget);

    public BodyCapture Response { get; } = new(bodyLimit, budget);

    public WriteTimeline ResponseWrites { get; } = new();

    /// <summary><see cref="Stopwatch"/> time the call arrived.</summary>
    public long Started { get; } = started;

    /// <summary><see cref="Stopwatch"/> time the response's last byte was written.</summary>
    public long Ended { get; set; }

    public int StatusCode { get; set; }

    /// <summary>The gRPC status of a gRPC call (from the trailers, or the headers of a trailers-only answer); -1 when absent.</summary>
    public int GrpcStatus { get; set; } = -1;

    public ForwarderError Error { get; set; }

    public TimeSpan Duration => Stopwatch.GetElapsedTime(Started, Ended);

    /// <summary>Seconds from arrival to <paramref name="timestamp"/>.</summary>
    public double SecondsUntil(long timestamp) => Stopwatch.GetElapsedTime(Started, timestamp).TotalSeconds;

    public void Release()
    {
        Request.Release();
        Response.Release();
    }
}

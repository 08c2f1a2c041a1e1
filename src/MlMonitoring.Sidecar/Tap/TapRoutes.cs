using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Tap;

/// <summary>Recognises the inference calls of the protocols the tap knows by method and path; anything else is passed through.</summary>
internal static class TapRoutes
{
    public const string GrpcModelInfer = "/inference.GRPCInferenceService/ModelInfer";

    /// <summary>The operation of a call, and the model and version its path names.</summary>
    public static (TapOperation Operation, string? Model, string? Version) Recognize(string method, string path, bool grpc, TapProtocol protocol)
    {
        if (!HttpMethods.IsPost(method))
        {
            return default;
        }

        if (grpc)
        {
            return path == GrpcModelInfer && Observes(protocol, TapProtocol.OpenInference) ? (TapOperation.OpenInferenceGrpc, null, null) : default;
        }

        if (path.StartsWith("/v2/models/", StringComparison.Ordinal) && path.EndsWith("/infer", StringComparison.Ordinal)
            && Observes(protocol, TapProtocol.OpenInference))
        {
            // /v2/models/{model}/infer or /v2/models/{model}/versions/{version}/infer
            var middle = path.AsSpan("/v2/models/".Length, path.Length - "/v2/models/".Length - "/infer".Length);
            var versions = middle.IndexOf("/versions/", StringComparison.Ordinal);
            if (versions < 0)
            {
                return middle.Length > 0 && !middle.Contains('/') ? (TapOperation.OpenInferenceRest, Unescape(middle), null) : default;
            }

            var model = middle[..versions];
            var version = middle[(versions + "/versions/".Length)..];
            return model.Length > 0 && version.Length > 0 && !model.Contains('/') && !version.Contains('/')
                ? (TapOperation.OpenInferenceRest, Unescape(model), Unescape(version))
                : default;
        }

        if (path.StartsWith("/v1/models/", StringComparison.Ordinal) && path.EndsWith(":predict", StringComparison.Ordinal)
            && Observes(protocol, TapProtocol.KServeV1))
        {
            var model = path.AsSpan("/v1/models/".Length, path.Length - "/v1/models/".Length - ":predict".Length);
            return model.Length > 0 && !model.Contains('/') ? (TapOperation.KServeV1, Unescape(model), null) : default;
        }

        if (Observes(protocol, TapProtocol.OpenAi))
        {
            return path switch
            {
                "/v1/chat/completions" => (TapOperation.ChatCompletions, null, null),
                "/v1/completions" => (TapOperation.Completions, null, null),
                "/v1/embeddings" => (TapOperation.Embeddings, null, null),
                _ => default,
            };
        }

        return default;
    }

    private static bool Observes(TapProtocol configured, TapProtocol protocol) => configured == TapProtocol.Auto || configured == protocol;

    private static string Unescape(ReadOnlySpan<char> segment) => Uri.UnescapeDataString(segment.ToString());
}

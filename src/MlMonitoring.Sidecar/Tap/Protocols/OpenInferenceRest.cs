using System.Text.Json;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Tap.Protocols;

/// <summary>
/// Open Inference Protocol (KServe v2) over REST: <c>{"id", "inputs": [tensor]}</c> in, <c>{"model_name",
/// "model_version", "id", "outputs": [tensor]}</c> out, a tensor being <c>{"name", "shape", "datatype", "data"}</c>.
/// Bodies of the binary data extension are read up to their JSON header; tensors carried in binary are not read.
/// </summary>
internal static class OpenInferenceRest
{
    public static void Read(TappedCall call, ObservationContext context)
    {
        var model = call.PathModel!;
        using var request = Parse(context.Observable(call.Request), call.Request.JsonLength, context);
        using var response = Parse(context.Observable(call.Response), call.Response.JsonLength, context);
        var id = call.PredictionIdHeader ?? StringOf(request, "id") ?? StringOf(response, "id");
        var version = call.PathVersion ?? context.VersionOf(model, StringOf(response, "model_version"));
        TensorMapping.ToEvents(
            call, context, grpc: false, model, version, id,
            Tensors(request, "inputs", context), Tensors(response, "outputs", context), request is not null, response is not null);
    }

    internal static JsonDocument? Parse(ReadOnlyMemory<byte>? body, int? jsonLength, ObservationContext context)
    {
        if (body is not { } bytes)
        {
            return null;
        }

        if (jsonLength is { } length)
        {
            if (length > bytes.Length)
            {
                context.Skip(SkipReason.Unparsable);
                return null;
            }

            bytes = bytes[..length];
        }

        try
        {
            var document = JsonDocument.Parse(bytes);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                return document;
            }

            document.Dispose();
        }
        catch (JsonException)
        {
        }

        context.Skip(SkipReason.Unparsable);
        return null;
    }

    internal static string? StringOf(JsonDocument? document, string property) =>
        document is not null && document.RootElement.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    private static List<Tensor> Tensors(JsonDocument? document, string property, ObservationContext context)
    {
        var tensors = new List<Tensor>();
        if (document is null || !document.RootElement.TryGetProperty(property, out var list) || list.ValueKind != JsonValueKind.Array)
        {
            return tensors;
        }

        foreach (var element in list.EnumerateArray())
        {
            if (element.TryGetProperty("parameters", out var parameters) && parameters.ValueKind == JsonValueKind.Object
                && parameters.TryGetProperty("binary_data_size", out _))
            {
                context.Skip(SkipReason.BinaryTensor);
                continue;
            }

            if (Tensor.FromJson(element) is { } tensor)
            {
                tensors.Add(tensor);
            }
        }

        return tensors;
    }
}

using System.Buffers.Binary;
using Google.Protobuf;
using MlMonitoring.Inference.V2;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Tap.Protocols;

/// <summary>
/// Open Inference Protocol over gRPC: one <c>ModelInferRequest</c> and one <c>ModelInferResponse</c>, each in a
/// length-prefixed gRPC message; typed contents or <c>raw_*_contents</c>. The status comes from the trailers.
/// </summary>
internal static class OpenInferenceGrpc
{
    public static void Read(TappedCall call, ObservationContext context)
    {
        var request = Parse(context.Observable(call.Request), ModelInferRequest.Parser, context);
        var response = Parse(context.Observable(call.Response), ModelInferResponse.Parser, context);
        var model = NonEmpty(request?.ModelName) ?? NonEmpty(response?.ModelName);
        if (model is null)
        {
            // Neither body could be read: there is no model to count the call under.
            return;
        }

        var mapping = context.MappingOf(model);
        var inputs = request is null ? [] : Inputs(request);
        var outputs = response is null ? [] : Outputs(response);
        var version = NonEmpty(response?.ModelVersion) ?? context.VersionOf(model, request?.ModelVersion);
        var id = call.PredictionIdHeader ?? NonEmpty(request?.Id) ?? NonEmpty(response?.Id);

        var events = context.Events;
        events.Start(TensorMapping.InstanceCount(mapping, outputs, inputs), model, version, call.Duration.TotalSeconds, id);
        if (CallOutcome.FailureOf(call, grpc: true) is { } failure)
        {
            events.Fail(failure.Kind, failure.ErrorType);
            return;
        }

        if (mapping is not null)
        {
            var fitted = (response is null || TensorMapping.ApplyOutputs(mapping, outputs, events.Span))
                & (request is null || TensorMapping.ApplyFeatures(mapping, inputs, events.Span));
            if (!fitted)
            {
                context.Skip(SkipReason.Unparsable);
            }
        }
    }

    /// <summary>The one message of a unary gRPC body: a flag byte (compressed or not), a 4-byte big-endian length, the message.</summary>
    private static T? Parse<T>(ReadOnlyMemory<byte>? body, MessageParser<T> parser, ObservationContext context)
        where T : class, IMessage<T>
    {
        if (body is not { } bytes)
        {
            return null;
        }

        var span = bytes.Span;
        if (span.Length < 5)
        {
            context.Skip(SkipReason.Unparsable);
            return null;
        }

        if (span[0] != 0)
        {
            context.Skip(SkipReason.Compressed);
            return null;
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(span[1..]);
        if (length != span.Length - 5)
        {
            context.Skip(SkipReason.Unparsable);
            return null;
        }

        try
        {
            return parser.ParseFrom(span[5..]);
        }
        catch (InvalidProtocolBufferException)
        {
            context.Skip(SkipReason.Unparsable);
            return null;
        }
    }

    private static List<Tensor> Inputs(ModelInferRequest request)
    {
        var tensors = new List<Tensor>(request.Inputs.Count);
        for (var i = 0; i < request.Inputs.Count; i++)
        {
            var input = request.Inputs[i];
            var raw = i < request.RawInputContents.Count ? request.RawInputContents[i] : null;
            if (Tensor.FromGrpc(input.Name, input.Datatype, input.Shape, input.Contents, raw) is { } tensor)
            {
                tensors.Add(tensor);
            }
        }

        return tensors;
    }

    private static List<Tensor> Outputs(ModelInferResponse response)
    {
        var tensors = new List<Tensor>(response.Outputs.Count);
        for (var i = 0; i < response.Outputs.Count; i++)
        {
            var output = response.Outputs[i];
            var raw = i < response.RawOutputContents.Count ? response.RawOutputContents[i] : null;
            if (Tensor.FromGrpc(output.Name, output.Datatype, output.Shape, output.Contents, raw) is { } tensor)
            {
                tensors.Add(tensor);
            }
        }

        return tensors;
    }

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}

using System.Buffers.Binary;
using Google.Protobuf;
using Google.Protobuf.Collections;
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

        var version = NonEmpty(response?.ModelVersion) ?? context.VersionOf(model, request?.ModelVersion);
        var id = call.PredictionIdHeader ?? NonEmpty(request?.Id) ?? NonEmpty(response?.Id);
        var inputs = request is null ? [] : Tensors(request.Inputs, request.RawInputContents, i => (i.Name, i.Datatype, i.Shape, i.Contents));
        var outputs = response is null ? [] : Tensors(response.Outputs, response.RawOutputContents, o => (o.Name, o.Datatype, o.Shape, o.Contents));
        TensorMapping.ToEvents(call, context, grpc: true, model, version, id, inputs, outputs, request is not null, response is not null);
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

    /// <summary>The tensors of a message; the i-th takes the i-th raw contents when the message carries them there.</summary>
    private static List<Tensor> Tensors<T>(
        RepeatedField<T> tensors, RepeatedField<ByteString> raw, Func<T, (string Name, string Datatype, IReadOnlyList<long> Shape, InferTensorContents? Contents)> describe)
    {
        var read = new List<Tensor>(tensors.Count);
        for (var i = 0; i < tensors.Count; i++)
        {
            var (name, datatype, shape, contents) = describe(tensors[i]);
            if (Tensor.FromGrpc(name, datatype, shape, contents, i < raw.Count ? raw[i] : null) is { } tensor)
            {
                read.Add(tensor);
            }
        }

        return read;
    }

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}

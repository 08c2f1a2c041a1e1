using System.Buffers;
using Google.Protobuf;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Ingest.Wire;

/// <summary>
/// Binds <c>mlmonitoring.v1.PredictionMonitor</c> to <see cref="PredictionIngestService"/>. The generated binding
/// would parse predictions into generated messages; here the three prediction methods read their requests with
/// <see cref="PredictionWireReader"/> into pooled <see cref="IncomingBatch"/>es, and the other methods keep the
/// generated messages. Method names, paths and wire format are those of the contract.
/// </summary>
internal sealed class PredictionMonitorMethods(IOptions<IngestOptions> options) : IServiceMethodProvider<PredictionIngestService>
{
    private static readonly string ServiceName = PredictionMonitor.Descriptor.FullName;

    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<PredictionIngestService> context)
    {
        var maxBatchSize = options.Value.MaxBatchSize;
        var batch = Marshallers.Create(NotSent<IncomingBatch>, c => ReadPooled(c, maxBatchSize, single: false));
        var single = Marshallers.Create(NotSent<IncomingBatch>, c => ReadPooled(c, maxBatchSize, single: true));
        var response = Generated(RecordResponse.Parser);

        context.AddUnaryMethod(
            Method(MethodType.Unary, "RecordPrediction", single, response), Metadata(), (s, request, call) => s.RecordPrediction(request, call));
        context.AddUnaryMethod(
            Method(MethodType.Unary, "RecordPredictions", batch, response), Metadata(), (s, request, call) => s.RecordPredictions(request, call));
        context.AddDuplexStreamingMethod(
            Method(MethodType.DuplexStreaming, "StreamPredictions", batch, response),
            Metadata(),
            (s, requests, responses, call) => s.StreamPredictions(requests, responses, call));
        context.AddUnaryMethod(
            Method(MethodType.Unary, "RecordGroundTruth", Generated(GroundTruthBatch.Parser), response),
            Metadata(),
            (s, request, call) => s.RecordGroundTruth(request, call));
        context.AddUnaryMethod(
            Method(MethodType.Unary, "RecordOutcomes", Generated(OutcomeBatch.Parser), response),
            Metadata(),
            (s, request, call) => s.RecordOutcomes(request, call));
        context.AddUnaryMethod(
            Method(MethodType.Unary, "GetModelStatus", Generated(ModelStatusRequest.Parser), Generated(ModelStatus.Parser)),
            Metadata(),
            (s, request, call) => s.GetModelStatus(request, call));
        context.AddUnaryMethod(
            Method(MethodType.Unary, "PinBaseline", Generated(PinBaselineRequest.Parser), Generated(PinBaselineResponse.Parser)),
            Metadata(),
            (s, request, call) => s.PinBaseline(request, call));
    }

    private static Method<TRequest, TResponse> Method<TRequest, TResponse>(
        MethodType type, string name, Marshaller<TRequest> request, Marshaller<TResponse> response) =>
        new(type, ServiceName, name, request, response);

    /// <summary>What the generated binding attaches: gRPC calls are POSTs; CORS preflight is left to CORS middleware.</summary>
    private static List<object> Metadata() => [new HttpMethodMetadata(["POST"], acceptCorsPreflight: true)];

    private static IncomingBatch ReadPooled(DeserializationContext context, int maxBatchSize, bool single)
    {
        var batch = IncomingBatchPool.Rent();
        var payload = context.PayloadAsReadOnlySequence();
        byte[]? copy = null;
        try
        {
            ReadOnlySpan<byte> bytes;
            if (payload.IsSingleSegment)
            {
                bytes = payload.FirstSpan;
            }
            else
            {
                copy = ArrayPool<byte>.Shared.Rent((int)payload.Length);
                payload.CopyTo(copy);
                bytes = copy.AsSpan(0, (int)payload.Length);
            }

            if (single)
            {
                PredictionWireReader.ReadEvent(bytes, batch.Next(1)!);
            }
            else
            {
                PredictionWireReader.ReadBatch(bytes, batch, maxBatchSize);
            }

            return batch;
        }
        catch (MalformedMessageException e)
        {
            batch.Dispose();
            throw new RpcException(new Grpc.Core.Status(StatusCode.InvalidArgument, $"malformed {(single ? "PredictionEvent" : "PredictionBatch")}: {e.Message}"));
        }
        finally
        {
            if (copy is not null)
            {
                ArrayPool<byte>.Shared.Return(copy);
            }
        }
    }

    private static Marshaller<T> Generated<T>(MessageParser<T> parser)
        where T : IMessage<T>, IBufferMessage =>
        Marshallers.Create<T>(
            (message, context) =>
            {
                context.SetPayloadLength(message.CalculateSize());
                message.WriteTo(context.GetBufferWriter());
                context.Complete();
            },
            context => parser.ParseFrom(context.PayloadAsReadOnlySequence()));

    private static void NotSent<T>(T message, SerializationContext context) =>
        throw new NotSupportedException("The sidecar only receives this message.");
}

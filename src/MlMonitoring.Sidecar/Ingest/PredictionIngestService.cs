using Grpc.Core;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Drift;
using MlMonitoring.Sidecar.GroundTruth;
using MlMonitoring.Sidecar.Ingest.Wire;
using MlMonitoring.Sidecar.Status;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Ingest;

/// <summary>
/// The gRPC face of the sidecar: receives prediction events from the model server over unary calls, batches and
/// a long-lived stream, and hands them to <see cref="BatchIngestor"/>. Bound by <see cref="PredictionMonitorMethods"/>,
/// so prediction requests arrive as pooled <see cref="IncomingBatch"/>es, each returned once answered.
/// </summary>
internal sealed class PredictionIngestService(
    BatchIngestor ingestor,
    GroundTruthJoiner joiner,
    ModelStatusReporter status,
    BaselinePinner pinner,
    SidecarMetrics selfMetrics,
    OverloadGuard overload,
    IOptions<IngestOptions> options,
    IHostApplicationLifetime lifetime)
{
    private static readonly Task<RecordResponse> AcceptedOne = Task.FromResult(new RecordResponse { Accepted = 1 });

    private readonly int _maxBatchSize = options.Value.MaxBatchSize;

    public Task<RecordResponse> RecordPrediction(IncomingBatch request, ServerCallContext context)
    {
        Violation? violation;
        using (request)
        {
            selfMetrics.CountReceived(IngestRpc.Unary, 1);
            violation = ingestor.Ingest(request.Events.Span[0]);
        }

        if (violation is not null)
        {
            throw new RpcException(new Grpc.Core.Status(StatusCode.InvalidArgument, violation.Reason));
        }

        return AcceptedOne;
    }

    public Task<RecordResponse> RecordPredictions(IncomingBatch request, ServerCallContext context) =>
        IngestAsync(request, IngestRpc.Batch, context.CancellationToken);

    public async Task StreamPredictions(
        IAsyncStreamReader<IncomingBatch> requestStream,
        IServerStreamWriter<RecordResponse> responseStream,
        ServerCallContext context)
    {
        // On shutdown the stream ends cleanly after the batch in hand is answered; a batch the client sent but
        // this side had not read yet gets no answer, so the client sends it again to the next instance.
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        while (true)
        {
            try
            {
                if (!await requestStream.MoveNext(stopping.Token))
                {
                    return;
                }
            }
            catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
            {
                return;
            }

            var response = await IngestAsync(requestStream.Current, IngestRpc.Stream, context.CancellationToken);
            await responseStream.WriteAsync(response, context.CancellationToken);
        }
    }

    public async Task<RecordResponse> RecordGroundTruth(GroundTruthBatch request, ServerCallContext context)
    {
        EnsureWithinBatchLimit(request.Labels.Count, "labels");
        return ToResponse(await joiner.JoinAsync(request.Labels, context.CancellationToken), request.Labels.Count);
    }

    public async Task<RecordResponse> RecordOutcomes(OutcomeBatch request, ServerCallContext context)
    {
        EnsureWithinBatchLimit(request.Outcomes.Count, "outcomes");
        return ToResponse(await joiner.AttributeAsync(request.Outcomes, context.CancellationToken), request.Outcomes.Count);
    }

    public Task<ModelStatus> GetModelStatus(ModelStatusRequest request, ServerCallContext context) =>
        Task.FromResult(status.Report(request));

    public Task<PinBaselineResponse> PinBaseline(PinBaselineRequest request, ServerCallContext context) =>
        Task.FromResult(pinner.Pin(request));

    private async Task<RecordResponse> IngestAsync(IncomingBatch batch, IngestRpc rpc, CancellationToken cancellationToken)
    {
        using (batch)
        {
            EnsureWithinBatchLimit(batch);
            if (rpc == IngestRpc.Stream)
            {
                // A unary call was judged by the interceptor (after grpc-dotnet had read it); a stream is judged
                // batch by batch, here.
                overload.EnsureHeapBelowLimit();
            }

            return await ingestor.IngestInTurnAsync(batch.Events, rpc, cancellationToken);
        }
    }

    /// <summary>
    /// A label or outcome batch in which every item was invalid is a client error as a whole: INVALID_ARGUMENT with
    /// the first reason. Nothing was recorded, so nothing is lost by failing the call. Items refused because the
    /// store was unavailable are not the client's fault: the call succeeds and lists them, to be sent again.
    /// </summary>
    private static RecordResponse ToResponse(FollowUpResult result, int count)
    {
        if (count > 0 && result.Invalid == count)
        {
            throw new RpcException(new Grpc.Core.Status(StatusCode.InvalidArgument, result.Response.Rejections[0].Reason));
        }

        return result.Response;
    }

    private void EnsureWithinBatchLimit(int count, string field)
    {
        if (count > _maxBatchSize)
        {
            throw new RpcException(new Grpc.Core.Status(
                StatusCode.InvalidArgument, $"{field}: {count} in one batch, more than Monitoring:MaxBatchSize ({_maxBatchSize})"));
        }
    }

    /// <summary>
    /// A batch over the limit is refused whole, before anything in it is recorded, so the client can split it and
    /// send it again without counting any event twice.
    /// </summary>
    private void EnsureWithinBatchLimit(IncomingBatch batch)
    {
        if (batch.TotalCount > _maxBatchSize)
        {
            selfMetrics.CountReceived(IngestRpc.Batch, batch.TotalCount);
            selfMetrics.CountRejected("batch_size", batch.TotalCount);
            throw new RpcException(new Grpc.Core.Status(
                StatusCode.InvalidArgument,
                $"events: {batch.TotalCount} events in one batch, more than Monitoring:MaxBatchSize ({_maxBatchSize})"));
        }
    }
}

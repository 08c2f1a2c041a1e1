// The transport floor: a gRPC server compiled from the same contract that acknowledges every event and records
// nothing. Benchmarks run the load generator against it and against the sidecar in the same run; the ratio is what
// the sidecar's work costs on top of gRPC itself.
//   dotnet MlMonitoring.NoopServer.dll --urls http://127.0.0.1:50061
using Grpc.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using MlMonitoring.V1;

var builder = WebApplication.CreateSlimBuilder(args);
builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(listen => listen.Protocols = HttpProtocols.Http2));
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.AddGrpc();
var app = builder.Build();
app.MapGrpcService<NoopMonitor>();
app.Run();

internal sealed class NoopMonitor : PredictionMonitor.PredictionMonitorBase
{
    private static readonly Task<RecordResponse> One = Task.FromResult(new RecordResponse { Accepted = 1 });

    public override Task<RecordResponse> RecordPrediction(PredictionEvent request, ServerCallContext context) => One;

    public override Task<RecordResponse> RecordPredictions(PredictionBatch request, ServerCallContext context) =>
        Task.FromResult(new RecordResponse { Accepted = (ulong)request.Events.Count });

    public override async Task StreamPredictions(IAsyncStreamReader<PredictionBatch> requestStream, IServerStreamWriter<RecordResponse> responseStream, ServerCallContext context)
    {
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            await responseStream.WriteAsync(new RecordResponse { Accepted = (ulong)requestStream.Current.Events.Count }, context.CancellationToken);
        }
    }
}

using Google.Protobuf;
using System.Collections.Concurrent;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Proto.Collector.Metrics.V1;

namespace MlMonitoring.Sidecar.Tests.Infrastructure;

/// <summary>
/// An OTLP metrics receiver built from the public protocol: <c>MetricsService/Export</c> over gRPC and
/// <c>POST /v1/metrics</c> over http/protobuf. It keeps every request it decodes.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private OtlpReceiver(WebApplication app, int grpcPort, int httpPort, ConcurrentQueue<ExportMetricsServiceRequest> received)
    {
        _app = app;
        GrpcPort = grpcPort;
        HttpPort = httpPort;
        Received = received;
    }

    public int GrpcPort { get; }

    public int HttpPort { get; }

    public ConcurrentQueue<ExportMetricsServiceRequest> Received { get; }

    /// <summary>
    /// The summed data points of <paramref name="metricName"/> in the newest request that carries it: with cumulative
    /// temporality, the total so far. Null while no request has carried it.
    /// </summary>
    public long? LatestSum(string metricName)
    {
        foreach (var request in Received.Reverse())
        {
            var metric = request.ResourceMetrics.SelectMany(r => r.ScopeMetrics).SelectMany(s => s.Metrics).FirstOrDefault(m => m.Name == metricName);
            if (metric is not null)
            {
                return metric.Sum.DataPoints.Sum(p => p.AsInt);
            }
        }

        return null;
    }

    /// <summary>Waits up to 30 s for <see cref="LatestSum"/> of <paramref name="metricName"/> to reach <paramref name="expected"/>; returns the last seen.</summary>
    public async Task<long?> WaitForSumAsync(string metricName, long expected)
    {
        return await Eventually.UntilAsync(
            () => Task.FromResult(LatestSum(metricName)), sum => sum == expected, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100));
    }

    /// <param name="grpcPort">The gRPC port to listen on, to take over from a backend that was there; any free port when null.</param>
    public static async Task<OtlpReceiver> StartAsync(int? grpcPort = null)
    {
        var port = grpcPort ?? FreePort.Next();
        var httpPort = FreePort.Next();
        var received = new ConcurrentQueue<ExportMetricsServiceRequest>();
        // An empty content root: the sidecar's appsettings.json beside the tests must not configure this server.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = Directory.CreateTempSubdirectory("mlmon-host-").FullName });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.ListenLocalhost(port, listen => listen.Protocols = HttpProtocols.Http2);
            kestrel.ListenLocalhost(httpPort, listen => listen.Protocols = HttpProtocols.Http1);
        });
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(received);
        var app = builder.Build();
        app.MapGrpcService<MetricsServiceReceiver>();
        app.MapPost("/v1/metrics", async (HttpRequest request) =>
        {
            Assert.Equal("application/x-protobuf", request.ContentType);
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            received.Enqueue(ExportMetricsServiceRequest.Parser.ParseFrom(body.ToArray()));
            return Results.Bytes(new ExportMetricsServiceResponse().ToByteArray(), "application/x-protobuf");
        });
        await app.StartAsync();
        return new OtlpReceiver(app, port, httpPort, received);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed class MetricsServiceReceiver(ConcurrentQueue<ExportMetricsServiceRequest> received) : MetricsService.MetricsServiceBase
    {
        public override Task<ExportMetricsServiceResponse> Export(ExportMetricsServiceRequest request, ServerCallContext context)
        {
            received.Enqueue(request);
            return Task.FromResult(new ExportMetricsServiceResponse());
        }
    }
}

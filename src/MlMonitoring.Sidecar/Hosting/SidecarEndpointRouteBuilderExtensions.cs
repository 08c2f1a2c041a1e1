using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Hosting;
using MlMonitoring.Sidecar.Ingest;

// Mapping lives where ASP.NET Core users look for it.
#pragma warning disable IDE0130
namespace Microsoft.AspNetCore.Builder;
#pragma warning restore IDE0130

/// <summary>Maps the sidecar's endpoints: gRPC ingest, health and reflection, <c>/metrics</c>, probes.</summary>
public static class SidecarEndpointRouteBuilderExtensions
{
    /// <summary>The sidecar's middleware: bearer-token authentication when <c>Monitoring:Security:TokenFile</c> is set.</summary>
    public static IApplicationBuilder UseMlMonitoringSidecar(this IApplicationBuilder app) =>
        app.UseMiddleware<MlMonitoring.Sidecar.Security.BearerTokenMiddleware>();

    /// <summary>
    /// Maps <c>mlmonitoring.v1.PredictionMonitor</c>, <c>grpc.health.v1</c> and reflection, the Prometheus
    /// <c>/metrics</c> endpoint (unless <c>Monitoring:PrometheusEndpoint</c> is false), <c>/healthz</c> (liveness)
    /// and <c>/readyz</c> (readiness).
    /// </summary>
    public static IEndpointRouteBuilder MapMlMonitoringSidecar(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGrpcService<PredictionIngestService>();
        endpoints.MapGrpcHealthChecksService();
        endpoints.MapGrpcReflectionService();
        if (endpoints.ServiceProvider.GetRequiredService<IOptions<MonitoringOptions>>().Value.PrometheusEndpoint)
        {
            endpoints.MapPrometheusScrapingEndpoint("/metrics");
        }

        // Liveness asks only whether the process answers; readiness also whether it is starting or stopping.
        endpoints.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        endpoints.MapHealthChecks("/readyz", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(ReadinessHealthCheck.Tag),
            // The body names each check and its state, so a degraded join store shows in the probe's answer.
            ResponseWriter = async (context, report) =>
            {
                context.Response.ContentType = "text/plain";
                await context.Response.WriteAsync(string.Join("\n", report.Entries.Select(e => $"{e.Key}: {e.Value.Status} {e.Value.Description}".TrimEnd()).Prepend(report.Status.ToString())));
            },
        });
        return endpoints;
    }
}

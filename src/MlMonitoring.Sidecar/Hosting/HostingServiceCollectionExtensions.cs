using Microsoft.AspNetCore.Diagnostics.HealthChecks;

namespace MlMonitoring.Sidecar.Hosting;

/// <summary>
/// Registers and maps what the process itself answers and does: readiness, liveness, the start report, the compaction
/// after start, the shutdown signal.
/// </summary>
internal static class HostingServiceCollectionExtensions
{
    public static IServiceCollection AddSidecarHosting(this IServiceCollection services)
    {
        services.AddHealthChecks().AddCheck<ReadinessHealthCheck>("ready", tags: [ReadinessHealthCheck.Tag]);
        services.AddHostedService<ShutdownHealthNotifier>();
        services.AddHostedService<StartupReport>();
        services.AddHostedService<PostStartCompaction>();
        return services;
    }

    /// <summary>
    /// <c>/healthz</c> (liveness) and <c>/readyz</c> (readiness). Liveness asks only whether the process answers;
    /// readiness also whether it is starting or stopping, and how the shared-state store is.
    /// </summary>
    public static IEndpointRouteBuilder MapProbes(this IEndpointRouteBuilder endpoints)
    {
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

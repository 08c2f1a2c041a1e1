using System.Globalization;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Hosting;

/// <summary>
/// Registers and maps what the process itself answers and does: readiness, liveness, the start report, the compaction
/// after start, the shutdown signal.
/// </summary>
internal static class HostingServiceCollectionExtensions
{
    /// <param name="services">The services.</param>
    /// <param name="configuration">The configuration, for the stop timeout the host reads while it is built.</param>
    /// <param name="renamedSettings">Settings given under a former name, each warned about at start.</param>
    public static IServiceCollection AddSidecarHosting(this IServiceCollection services, IConfiguration configuration, IReadOnlyList<RenamedSetting> renamedSettings)
    {
        services.AddOptions<HostingOptions>()
            .BindConfiguration(HostingOptions.SectionName)
            .ValidateWithAllSettings<HostingOptions, HostingOptionsValidator>(HostingOptions.SectionName);
        // A native sidecar gets little time once the model container is gone: stop within Monitoring:ShutdownTimeout.
        // The host reads its options while it is built, before settings are validated at start; reading the
        // validated options here would throw from Build, unlogged. So this one value is bound as is, and an invalid
        // one still fails the start a moment later, logged with every other invalid setting.
        services.AddOptions<HostOptions>().Configure(host =>
        {
            var section = configuration.GetSection(HostingOptions.SectionName);
            host.ShutdownTimeout = TimeSpan.TryParse(section[nameof(HostingOptions.ShutdownTimeout)], CultureInfo.InvariantCulture, out var timeout)
                && timeout >= TimeSpan.Zero
                ? timeout
                : new HostingOptions().ShutdownTimeout;
        });
        services.AddSingleton(renamedSettings);
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
            // The body names each check and its state, so a degraded shared state shows in the probe's answer.
            ResponseWriter = async (context, report) =>
            {
                context.Response.ContentType = "text/plain";
                await context.Response.WriteAsync(string.Join("\n", report.Entries.Select(e => $"{e.Key}: {e.Value.Status} {e.Value.Description}".TrimEnd()).Prepend(report.Status.ToString())));
            },
        });
        return endpoints;
    }
}

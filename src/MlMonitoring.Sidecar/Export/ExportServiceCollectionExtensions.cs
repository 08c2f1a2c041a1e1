using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace MlMonitoring.Sidecar.Export;

/// <summary>
/// Export of the sidecar's meters: always through the Prometheus scrape endpoint, and through OTLP as well when
/// an OTLP endpoint is configured with the standard <c>OTEL_EXPORTER_OTLP_*</c> variables.
/// </summary>
internal static class ExportServiceCollectionExtensions
{
    /// <summary>The service.name reported when neither OTEL_SERVICE_NAME nor OTEL_RESOURCE_ATTRIBUTES names one.</summary>
    public const string DefaultServiceName = "mlmonitoring-sidecar";

    public static IServiceCollection AddExport(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MonitoringOptions>, ExportConfigurationValidator>());
        var otlpEnabled = IsOtlpEnabled(configuration);
        var prometheusEnabled = IsPrometheusEnabled(configuration);
        var serviceNamed = !string.IsNullOrWhiteSpace(configuration["OTEL_SERVICE_NAME"])
            || (configuration["OTEL_RESOURCE_ATTRIBUTES"]?.Contains("service.name=", StringComparison.Ordinal) ?? false);

        services.AddOpenTelemetry()
            .ConfigureResource(resource =>
            {
                // The default resource already reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
                if (!serviceNamed)
                {
                    resource.AddService(DefaultServiceName);
                }
            })
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(MeterNames.Predictions, MeterNames.RegressionPrefix + "*", MeterNames.Sidecar, MeterNames.GenAi);
                if (prometheusEnabled)
                {
                    metrics.AddPrometheusExporter(prometheus =>
                    {
                        // Every scrape sees the counts of the moment; caching would serve a stale page to a second scraper.
                        prometheus.ScrapeResponseCacheDurationMilliseconds = 0;
                    });
                }

                if (otlpEnabled)
                {
                    metrics.AddOtlpExporter();
                }
            });
        if (otlpEnabled)
        {
            services.AddHostedService<FinalExportOnStop>();
        }

        return services;
    }

    /// <summary>Whether an OTLP endpoint is configured through the standard variables.</summary>
    public static bool IsOtlpEnabled(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"])
        || !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"]);

    /// <summary>
    /// Whether <c>/metrics</c> is served (<c>Monitoring:PrometheusEndpoint</c>, default true). The exporter is chosen
    /// while services are registered, before options can be resolved, so the section is bound here with the same
    /// binder; the validated options say the same at start.
    /// </summary>
    public static bool IsPrometheusEnabled(IConfiguration configuration)
    {
        var options = new MonitoringOptions();
        configuration.GetSection(MonitoringOptions.SectionName).Bind(options);
        return options.PrometheusEndpoint;
    }

    /// <summary>The Prometheus scrape endpoint <c>/metrics</c>, unless <c>Monitoring:PrometheusEndpoint</c> is false.</summary>
    public static IEndpointRouteBuilder MapExport(this IEndpointRouteBuilder endpoints)
    {
        if (endpoints.ServiceProvider.GetRequiredService<IOptions<MonitoringOptions>>().Value.PrometheusEndpoint)
        {
            endpoints.MapPrometheusScrapingEndpoint("/metrics");
        }

        return endpoints;
    }
}

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

    /// <summary>
    /// The series limit of each of the sidecar's own metrics. Their labels come from the code, not from traffic
    /// (rpc, reason, limit, operation: fewer than 20 values each), and the SDK reserves the limit's storage for
    /// every metric up front, which at its default of 2,000 would be most of an idle sidecar's memory.
    /// </summary>
    internal const int SelfMetricSeriesLimit = 100;

    public static IServiceCollection AddExport(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ExportOptions>()
            .BindConfiguration(ExportOptions.SectionName)
            .ValidateWithAllSettings<ExportOptions, ExportOptionsValidator>(ExportOptions.SectionName);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ExportOptions>, ExportConfigurationValidator>());
        var otlpEnabled = IsOtlpEnabled(configuration);
        var (options, limits) = BindOptions(configuration);
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
                metrics.AddView(instrument => new MetricStreamConfiguration
                {
                    CardinalityLimit = instrument.Meter.Name == MeterNames.Sidecar ? SelfMetricSeriesLimit : limits.MaxSeriesPerMetric,
                });
                if (options.PrometheusEndpoint)
                {
                    metrics.AddPrometheusExporter(prometheus =>
                    {
                        // Every scrape sees the counts of the moment; caching would serve a stale page to a second scraper.
                        prometheus.ScrapeResponseCacheDurationMilliseconds = 0;
                    });
                }

                if (otlpEnabled && OtlpSettings.Read(configuration).Settings is { } otlp)
                {
                    metrics.AddReader(sp => new PeriodicExportingMetricReader(
                        new CountingExporter(otlp.CreateExporter(), sp.GetRequiredService<ExportHealth>(), otlp.Endpoint), otlp.IntervalMs, otlp.ExportTimeoutMs)
                    {
                        TemporalityPreference = otlp.Temporality,
                    });
                }
            });
        if (otlpEnabled)
        {
            services.TryAddSingleton(sp => new ExportHealth(
                sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), sp.GetRequiredService<ILogger<ExportHealth>>(), sp.GetRequiredService<TimeProvider>())
            {
                OnlyExporter = !options.PrometheusEndpoint,
            });
            services.AddHealthChecks().AddCheck<ExportHealthCheck>("export", tags: [Probes.ReadinessTag]);
            services.AddHostedService<FinalExportOnStop>();
        }

        return services;
    }

    /// <summary>What is wrong with the OTLP settings, one line each; none when OTLP is off.</summary>
    public static IReadOnlyList<string> CheckOtlpSettings(IConfiguration configuration) =>
        IsOtlpEnabled(configuration) ? OtlpSettings.Read(configuration).Errors : [];

    /// <summary>Whether an OTLP endpoint is configured through the standard variables.</summary>
    public static bool IsOtlpEnabled(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"])
        || !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"]);

    /// <summary>
    /// The settings export is set up with (whether <c>/metrics</c> is served, the series limit of each metric). The
    /// exporters and views are chosen while services are registered, before options can be resolved, so the section
    /// is bound here with the same binder; the validated options say the same at start.
    /// </summary>
    private static (ExportOptions Export, CardinalityLimits Limits) BindOptions(IConfiguration configuration)
    {
        var export = new ExportOptions();
        configuration.GetSection(ExportOptions.SectionName).Bind(export);
        var monitoring = new MonitoringOptions();
        configuration.GetSection(MonitoringOptions.SectionName).Bind(monitoring);
        return (export, monitoring.Limits);
    }

    /// <summary>The Prometheus scrape endpoint <c>/metrics</c>, unless <c>Monitoring:PrometheusEndpoint</c> is false.</summary>
    public static IEndpointRouteBuilder MapExport(this IEndpointRouteBuilder endpoints)
    {
        if (endpoints.ServiceProvider.GetRequiredService<IOptions<ExportOptions>>().Value.PrometheusEndpoint)
        {
            endpoints.MapPrometheusScrapingEndpoint("/metrics");
        }

        return endpoints;
    }
}

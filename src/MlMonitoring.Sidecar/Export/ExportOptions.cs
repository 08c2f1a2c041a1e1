using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Export;

/// <summary>
/// How the metrics leave the sidecar, at the root of the <c>Monitoring</c> section. OTLP itself is set with the
/// standard <c>OTEL_EXPORTER_OTLP_*</c> variables, as every OpenTelemetry SDK reads them.
/// </summary>
public sealed class ExportOptions
{
    /// <summary>The configuration section these settings are bound from.</summary>
    public const string SectionName = MonitoringOptions.SectionName;

    /// <summary>
    /// How long a stopping sidecar waits for its last OTLP export. Default 1 s: a hung backend must not hold the pod
    /// past its grace period; the cumulative counts it misses are re-sent by the replica that follows.
    /// </summary>
    [TimeSpanRange("00:00:00", "00:01:00")]
    public TimeSpan ExportFlushTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Serve the Prometheus scrape endpoint <c>/metrics</c>. Default on. Turn it off when OTLP carries the metrics:
    /// the OpenTelemetry SDK aggregates every measurement once per exporter, so a second exporter costs about as much
    /// per event as the first (BENCHMARKS.md).
    /// </summary>
    public bool PrometheusEndpoint { get; set; } = true;
}

[OptionsValidator]
internal sealed partial class ExportOptionsValidator : IValidateOptions<ExportOptions>;

using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net.Sockets;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using MlMonitoring.Sidecar.Core;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using Tag = System.Collections.Generic.KeyValuePair<string, object?>;

namespace MlMonitoring.Sidecar.Export;

/// <summary>
/// Whether the OTLP export gets through, made visible: <c>ml_sidecar_export_failed_metric_points_total{exporter,
/// cause}</c> counts the metric points of the exports that failed (as the Collector's
/// <c>otelcol_exporter_send_failed_metric_points</c> does), <c>ml_sidecar_export_up{exporter}</c> says how the last one
/// went, a warning is logged at most once a minute while they fail, and readiness is Degraded while the only exporter
/// fails (without <c>/metrics</c>, nothing leaves the sidecar then).
/// </summary>
internal sealed partial class ExportHealth
{
    private static readonly TimeSpan WarningInterval = TimeSpan.FromMinutes(1);

    private readonly Counter<long> _failedPoints;
    private readonly ILogger<ExportHealth> _logger;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private int _up = 1;
    private long _lastWarning = long.MinValue;
    private long _failedSinceWarning;

    public ExportHealth(IMeterFactory meterFactory, ILogger<ExportHealth> logger, TimeProvider time)
    {
        _logger = logger;
        _time = time;
        var meter = meterFactory.Create(MeterNames.Sidecar);
        _failedPoints = meter.CreateCounter<long>(
            "ml_sidecar_export_failed_metric_points",
            description: "Metric points in exports that failed, by exporter and cause: connection_refused, dns, timeout, or export_failed (the endpoint answered but did not take them).");
        meter.CreateObservableGauge(
            "ml_sidecar_export_up", () => new Measurement<int>(Volatile.Read(ref _up), OtlpTag), description: "1 while the last export succeeded, 0 after a failure.");
    }

    private static readonly Tag OtlpTag = new("exporter", "otlp");

    /// <summary>Whether the last OTLP export succeeded.</summary>
    public bool IsUp => Volatile.Read(ref _up) == 1;

    /// <summary>Whether <c>/metrics</c> is off, so that OTLP is the only way out.</summary>
    public bool OnlyExporter { get; set; }

    public void ReportSuccess() => Volatile.Write(ref _up, 1);

    /// <summary>Counts a failed export of <paramref name="points"/> metric points to <paramref name="endpoint"/>.</summary>
    public void ReportFailure(long points, Uri endpoint)
    {
        Volatile.Write(ref _up, 0);
        var cause = CauseOf(endpoint);
        _failedPoints.Add(points, OtlpTag, new Tag("cause", cause));
        lock (_gate)
        {
            _failedSinceWarning += points;
            var now = _time.GetTimestamp();
            if (_lastWarning != long.MinValue && _time.GetElapsedTime(_lastWarning, now) < WarningInterval)
            {
                return;
            }

            LogExportFailing(_logger, endpoint.AbsoluteUri, cause, _failedSinceWarning);
            _lastWarning = now;
            _failedSinceWarning = 0;
        }
    }

    /// <summary>
    /// Why the endpoint did not take the export, found out by connecting to it (the exporter reports only failure):
    /// only after a failure, at most one connection per export interval.
    /// </summary>
    private static string CauseOf(Uri endpoint)
    {
        try
        {
            using var client = new TcpClient();
            var port = endpoint.Port > 0 ? endpoint.Port : (endpoint.Scheme == "https" ? 443 : 80);
            if (!client.ConnectAsync(endpoint.DnsSafeHost, port).Wait(TimeSpan.FromSeconds(1)))
            {
                return "timeout";
            }

            return "export_failed";
        }
        catch (AggregateException e) when (e.InnerException is SocketException socket)
        {
            return socket.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => "connection_refused",
                SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => "dns",
                SocketError.TimedOut => "timeout",
                _ => "export_failed",
            };
        }
        catch (SocketException socket) when (socket.SocketErrorCode is SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain)
        {
            return "dns";
        }
    }

    [LoggerMessage(EventId = 41, EventName = "ExportFailing", Level = LogLevel.Warning,
        Message = "OTLP export to {Endpoint} failing ({Cause}): {Points} metric points not delivered since the last warning; said at most once a minute while it fails (ml_sidecar_export_failed_metric_points_total)")]
    private static partial void LogExportFailing(ILogger logger, string endpoint, string cause, long points);
}

/// <summary>The OTLP exporter, its failures counted in <see cref="ExportHealth"/>.</summary>
internal sealed class CountingExporter(BaseExporter<Metric> inner, ExportHealth health, Uri endpoint) : BaseExporter<Metric>
{
    public override ExportResult Export(in Batch<Metric> batch)
    {
        // The reader gives its provider to the exporter it holds, this one; the OTLP exporter reads the resource
        // (service.name and the rest) from its own, which only the SDK may set.
        if (inner.ParentProvider is null && ParentProvider is { } provider)
        {
            ExporterAccess<Metric>.SetParentProvider(inner, provider);
        }

        var result = inner.Export(batch);
        if (result == ExportResult.Success)
        {
            health.ReportSuccess();
            return result;
        }

        long points = 0;
        foreach (var metric in batch)
        {
            foreach (ref readonly var _ in metric.GetMetricPoints())
            {
                points++;
            }
        }

        health.ReportFailure(points, endpoint);
        return result;
    }

    protected override bool OnForceFlush(int timeoutMilliseconds) => inner.ForceFlush(timeoutMilliseconds);

    protected override bool OnShutdown(int timeoutMilliseconds) => inner.Shutdown(timeoutMilliseconds);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>The SDK's own setter of an exporter's provider; an accessor of a generic type must be generic itself.</summary>
internal static class ExporterAccess<T>
    where T : class
{
    [System.Runtime.CompilerServices.UnsafeAccessor(System.Runtime.CompilerServices.UnsafeAccessorKind.Method, Name = "set_ParentProvider")]
    public static extern void SetParentProvider(BaseExporter<T> exporter, BaseProvider provider);
}

/// <summary>Readiness detail of the export: Degraded while the only exporter fails.</summary>
internal sealed class ExportHealthCheck(ExportHealth health) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(health.IsUp || !health.OnlyExporter
            ? HealthCheckResult.Healthy(health.IsUp ? "export up" : "OTLP export failing; /metrics still served")
            : HealthCheckResult.Degraded("OTLP export failing and /metrics is off: no metrics leave the sidecar"));
}

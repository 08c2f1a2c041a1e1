using System.Diagnostics;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;
using OpenTelemetry.Metrics;

namespace MlMonitoring.Sidecar.Export;

/// <summary>
/// Sends the last OTLP export when the sidecar stops, within <see cref="ExportOptions.ExportFlushTimeout"/>.
/// Left to disposal, the SDK would wait for a hung backend for as long as its own export timeout, past the pod's
/// grace period. Registered after the server, so it stops after the last in-flight call has been recorded.
/// </summary>
internal sealed partial class FinalExportOnStop(MeterProvider meters, IOptions<ExportOptions> options, ILogger<FinalExportOnStop> logger)
    : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken)
    {
        var timeout = options.Value.ExportFlushTimeout;
        // Shutdown blocks while the export runs on the reader's own thread; past the timeout it returns, leaving
        // that thread (a background one) to the process exit. Its result cannot tell a timeout: with /metrics on,
        // the Prometheus reader (pull only) reports false at every shutdown. Time can.
        var started = Stopwatch.GetTimestamp();
        meters.Shutdown((int)timeout.TotalMilliseconds);
        if (Stopwatch.GetElapsedTime(started) >= timeout)
        {
            LogFinalExportIncomplete(logger, timeout.TotalMilliseconds);
        }

        return Task.CompletedTask;
    }

    [LoggerMessage(EventId = 40, EventName = "FinalExportIncomplete", Level = LogLevel.Warning,
        Message = "The last OTLP export did not finish within {TimeoutMs} ms; the process exits without it")]
    private static partial void LogFinalExportIncomplete(ILogger logger, double timeoutMs);
}

using System.Globalization;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;

namespace MlMonitoring.Sidecar.Export;

/// <summary>
/// The OTLP export as the standard <c>OTEL_*</c> variables describe it (the OpenTelemetry specification's names and
/// defaults), read from the sidecar's configuration so that the command line can set them too. The sidecar builds
/// the exporter itself, instead of through <c>AddOtlpExporter</c>, so that it can count and report the exports
/// that fail (<see cref="ExportHealth"/>).
/// </summary>
internal sealed record OtlpSettings(Uri Endpoint, OtlpExportProtocol Protocol, string? Headers, int TimeoutMs, int IntervalMs, int ExportTimeoutMs, MetricReaderTemporalityPreference Temporality)
{
    /// <summary>The settings, or the one-line reasons they are not usable.</summary>
    public static (OtlpSettings? Settings, IReadOnlyList<string> Errors) Read(IConfiguration configuration)
    {
        var errors = new List<string>();
        string? Setting(string signal, string general) => NonEmpty(configuration[signal]) ?? NonEmpty(configuration[general]);

        var protocolText = Setting("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL") ?? "grpc";
        var protocol = protocolText switch
        {
            "grpc" => OtlpExportProtocol.Grpc,
            "http/protobuf" => OtlpExportProtocol.HttpProtobuf,
            _ => (OtlpExportProtocol?)null,
        };
        if (protocol is null)
        {
            errors.Add($"OTEL_EXPORTER_OTLP_PROTOCOL: '{protocolText}' is not one of grpc, http/protobuf");
        }

        // A signal's own endpoint is used as given; the general one gets the signal's path over HTTP.
        var signalEndpoint = NonEmpty(configuration["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"]);
        var endpointText = signalEndpoint ?? NonEmpty(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]) ?? "";
        var endpointKey = signalEndpoint is null ? "OTEL_EXPORTER_OTLP_ENDPOINT" : "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT";
        if (!Uri.TryCreate(endpointText, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https") || endpoint.Host.Length == 0)
        {
            errors.Add($"{endpointKey}: '{endpointText}' is not a URL like http://otel-collector:4317");
            endpoint = null;
        }
        else if (signalEndpoint is null && protocol == OtlpExportProtocol.HttpProtobuf)
        {
            endpoint = new Uri(endpoint.AbsoluteUri.TrimEnd('/') + "/v1/metrics");
        }

        var timeout = Milliseconds(configuration, errors, "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT", 10_000);
        var interval = Milliseconds(configuration, errors, "OTEL_METRIC_EXPORT_INTERVAL", null, 60_000);
        var exportTimeout = Milliseconds(configuration, errors, "OTEL_METRIC_EXPORT_TIMEOUT", null, 30_000);
        var temporalityText = NonEmpty(configuration["OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"]) ?? "cumulative";
        var temporality = temporalityText.ToLowerInvariant() switch
        {
            "cumulative" => MetricReaderTemporalityPreference.Cumulative,
            "delta" => MetricReaderTemporalityPreference.Delta,
            "lowmemory" => MetricReaderTemporalityPreference.LowMemory,
            _ => (MetricReaderTemporalityPreference?)null,
        };
        if (temporality is null)
        {
            errors.Add($"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: '{temporalityText}' is not one of cumulative, delta, lowmemory");
        }

        return errors.Count > 0
            ? (null, errors)
            : (new OtlpSettings(endpoint!, protocol!.Value, Setting("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"), timeout, interval, exportTimeout, temporality!.Value), errors);
    }

    /// <summary>The exporter these settings describe.</summary>
    public OtlpMetricExporter CreateExporter() => new(new OtlpExporterOptions
    {
        Endpoint = Endpoint,
        Protocol = Protocol,
        Headers = Headers,
        TimeoutMilliseconds = TimeoutMs,
    });

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static int Milliseconds(IConfiguration configuration, List<string> errors, string key, string? general, int fallback)
    {
        var (text, named) = NonEmpty(configuration[key]) is { } own ? (own, key) : (general is null ? null : NonEmpty(configuration[general]), general);
        if (text is null)
        {
            return fallback;
        }

        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0)
        {
            return value;
        }

        errors.Add($"{named}: '{text}' is not a number of milliseconds");
        return fallback;
    }
}

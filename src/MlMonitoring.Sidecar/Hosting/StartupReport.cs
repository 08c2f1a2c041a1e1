using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Export;
using MlMonitoring.Sidecar.Ingest;
using MlMonitoring.Sidecar.SharedState;
using MlMonitoring.Sidecar.Slo;
using MlMonitoring.Sidecar.Tap;

namespace MlMonitoring.Sidecar.Hosting;

/// <summary>Says once, at start, how the sidecar is set up: where OTLP goes, which limits apply, which settings are given.</summary>
internal sealed partial class StartupReport(
    ILogger<StartupReport> logger,
    IOptions<MonitoringOptions> options,
    IOptions<IngestOptions> ingest,
    IOptions<ExportOptions> export,
    IOptions<SharedStateOptions> sharedState,
    IOptions<TapOptions> tapOptions,
    IOptions<SloOptions> sloOptions,
    IReadOnlyList<RenamedSetting> renamedSettings,
    IConfiguration configuration,
    SloStatusReporter slos,
    SloCatalog catalog)
    : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var renamed in renamedSettings)
        {
            if (renamed.Ignored)
            {
                LogRenamedSettingIgnored(logger, renamed.FormerKey, renamed.Key);
            }
            else
            {
                LogRenamedSetting(logger, renamed.FormerKey, renamed.Key);
            }
        }

        var endpoint = configuration["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"] ?? configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            LogOtlpOff(logger);
        }
        else
        {
            LogOtlpOn(logger, endpoint, configuration["OTEL_EXPORTER_OTLP_PROTOCOL"] ?? "grpc");
        }

        // Resolving the SLO reporter reads the SLO file now: a bad file stops the start, not the first event.
        GC.KeepAlive(slos);
        if (catalog.Objectives.Count > 0)
        {
            LogSlos(logger, catalog.Objectives.Count, sloOptions.Value.SloFile!);
        }

        if (options.Value.Replicated && sharedState.Value.Store != SharedStateStoreKind.Redis)
        {
            LogReplicatedWithoutSharedStore(logger, sharedState.Value.Store.ToString().ToLowerInvariant());
        }

        var limits = options.Value.Limits;
        LogLimits(logger, limits.MaxModels, limits.MaxVersionsPerModel, limits.MaxClassesPerModel,
            limits.MaxFeaturesPerModel, ingest.Value.MaxBatchSize, options.Value.FeatureWindow);

        if (logger.IsEnabled(LogLevel.Information))
        {
            LogEndpoints(logger, configuration["Kestrel:Endpoints:Grpc:Url"] ?? "", configuration["Kestrel:Endpoints:Http:Url"] ?? "",
                export.Value.PrometheusEndpoint ? "/metrics, " : "");
            var gc = GC.GetConfigurationVariables();
            var gcSettings = string.Join(", ", GcSettingsShown.Select(name => $"{name}={(gc.TryGetValue(name, out var value) ? value : "default")}"));
            LogGc(logger, gcSettings);
            var store = DescribeStore(sharedState.Value);
            LogStore(logger, store);
            var tap = tapOptions.Value;
            if (tap.Listen is not null || tap.GrpcListen is not null)
            {
                var protocol = tap.Protocol.ToString();
                var mappings = tap.Models.Count == 0 ? "none" : string.Join("; ", tap.Models.Select(m => $"{m.Key}: {DescribeMapping(m.Value)}"));
                LogTap(logger, tap.Listen ?? "-", tap.Upstream ?? "-", tap.GrpcListen ?? "-", tap.GrpcUpstream ?? "-", protocol, mappings);
            }

            // What the user set, as given: everything else is a default the configuration reference states.
            var given = configuration.GetSection(MonitoringOptions.SectionName).AsEnumerable()
                .Where(setting => !string.IsNullOrEmpty(setting.Value))
                .Select(setting => $"{setting.Key}={Redact(setting.Key, setting.Value!)}")
                .Order(StringComparer.Ordinal)
                .ToList();
            var settings = given.Count == 0 ? "none, every setting at its default" : string.Join(", ", given);
            LogSettingsGiven(logger, settings);
        }

        return Task.CompletedTask;
    }

    /// <summary>The collector's settings that decide the sidecar's memory, as the runtime took them.</summary>
    private static readonly string[] GcSettingsShown = ["ConcurrentGC", "GCConserveMem", "GCRegionSize", "GCGen0MaxBudget"];

    private static string DescribeStore(SharedStateOptions store) => store.Store switch
    {
        SharedStateStoreKind.Sqlite => $"sqlite, file {store.SqlitePath}",
        SharedStateStoreKind.Redis => $"redis at {Redact("RedisConfiguration", store.RedisConfiguration)}, key prefix {store.RedisKeyPrefix}, {store.RedisPartitions} partition(s)",
        _ => "memory (this process only)",
    };

    private static string DescribeMapping(TapModelMapping mapping)
    {
        var parts = new List<string>();
        void Add(string name, string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                parts.Add($"{name} {value}");
            }
        }

        Add("class", mapping.ClassOutput);
        Add("probabilities", mapping.ProbabilitiesOutput);
        Add("value", mapping.ValueOutput);
        Add("class names", mapping.ClassNames is { Length: > 0 } names ? string.Join(",", names) : null);
        Add("feature inputs", mapping.FeatureInputs is { Length: > 0 } inputs ? string.Join(",", inputs) : null);
        Add("feature names", mapping.FeatureNames is { Length: > 0 } features ? string.Join(",", features) : null);
        Add("version", mapping.Version);
        return parts.Count == 0 ? "no outputs mapped" : string.Join(", ", parts);
    }

    /// <summary>A Redis configuration may carry a password: it is never logged.</summary>
    private static string Redact(string key, string value) =>
        key.EndsWith("RedisConfiguration", StringComparison.OrdinalIgnoreCase)
            ? System.Text.RegularExpressions.Regex.Replace(value, "(password|user)=[^,]*", "$1=***", System.Text.RegularExpressions.RegexOptions.IgnoreCase)
            : value;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 1, EventName = "OtlpExportOn", Level = LogLevel.Information,
        Message = "OTLP metric export to {Endpoint} over {Protocol}")]
    private static partial void LogOtlpOn(ILogger logger, string endpoint, string protocol);

    [LoggerMessage(EventId = 2, EventName = "OtlpExportOff", Level = LogLevel.Information,
        Message = "OTLP metric export off (no OTEL_EXPORTER_OTLP_ENDPOINT); metrics are served on /metrics")]
    private static partial void LogOtlpOff(ILogger logger);

    [LoggerMessage(EventId = 5, EventName = "ReplicatedWithoutSharedStore", Level = LogLevel.Warning,
        Message = "Monitoring:Replicated is set but the shared state is '{Store}', this process's own: a label or outcome sent to another replica will not join its prediction, and each replica captures its own drift baseline. Set Monitoring:SharedState:Store=redis")]
    private static partial void LogReplicatedWithoutSharedStore(ILogger logger, string store);

    [LoggerMessage(EventId = 11, EventName = "RenamedSetting", Level = LogLevel.Warning,
        Message = "{FormerKey} is a former name of {Key}, read as such; rename it, the former name will stop being read in 1.0")]
    private static partial void LogRenamedSetting(ILogger logger, string formerKey, string key);

    [LoggerMessage(EventId = 12, EventName = "RenamedSettingIgnored", Level = LogLevel.Warning,
        Message = "{FormerKey} is ignored: it is a former name of {Key}, which is given too")]
    private static partial void LogRenamedSettingIgnored(ILogger logger, string formerKey, string key);

    [LoggerMessage(EventId = 4, EventName = "Slos", Level = LogLevel.Information, Message = "{Count} SLOs from {SloFile}")]
    private static partial void LogSlos(ILogger logger, int count, string sloFile);

    [LoggerMessage(EventId = 6, EventName = "Endpoints", Level = LogLevel.Information,
        Message = "Ingest (gRPC) on {GrpcUrl}; {MetricsPath}/healthz and /readyz on {HttpUrl}")]
    private static partial void LogEndpoints(ILogger logger, string grpcUrl, string httpUrl, string metricsPath);

    [LoggerMessage(EventId = 7, EventName = "Store", Level = LogLevel.Information, Message = "Shared state (labels, baselines, handed-over windows): {Store}")]
    private static partial void LogStore(ILogger logger, string store);

    [LoggerMessage(EventId = 8, EventName = "Tap", Level = LogLevel.Information,
        Message = "Tap: HTTP {Listen} -> {Upstream}, gRPC {GrpcListen} -> {GrpcUpstream}, protocol {Protocol}; mappings: {Mappings}")]
    private static partial void LogTap(ILogger logger, string listen, string upstream, string grpcListen, string grpcUpstream, string protocol, string mappings);

    [LoggerMessage(EventId = 10, EventName = "GarbageCollector", Level = LogLevel.Information, Message = "Garbage collector: {Settings}")]
    private static partial void LogGc(ILogger logger, string settings);

    [LoggerMessage(EventId = 9, EventName = "SettingsGiven", Level = LogLevel.Information, Message = "Settings given: {Settings}")]
    private static partial void LogSettingsGiven(ILogger logger, string settings);

    [LoggerMessage(EventId = 3, EventName = "Limits", Level = LogLevel.Information,
        Message = "Limits: {MaxModels} models, {MaxVersions} versions per model, {MaxClasses} classes and {MaxFeatures} features per version, batches of {MaxBatch} events; feature window {FeatureWindow}")]
    private static partial void LogLimits(ILogger logger, int maxModels, int maxVersions, int maxClasses, int maxFeatures, int maxBatch, TimeSpan featureWindow);
}

using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Hosting;

/// <summary>Says once, at start, how the sidecar is set up: where OTLP goes and which limits apply.</summary>
internal sealed partial class StartupReport(
    ILogger<StartupReport> logger, IOptions<MonitoringOptions> options, IConfiguration configuration, Slo.SloStatusReporter slos, Slo.SloCatalog catalog)
    : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
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
            LogSlos(logger, catalog.Objectives.Count, options.Value.SloFile!);
        }

        if (options.Value.Replicated && options.Value.GroundTruth.Store != JoinStoreKind.Redis)
        {
            LogReplicatedWithoutSharedStore(logger, options.Value.GroundTruth.Store.ToString().ToLowerInvariant());
        }

        var limits = options.Value.Limits;
        LogLimits(logger, limits.MaxModels, limits.MaxVersionsPerModel, limits.MaxClassesPerModel,
            limits.MaxFeaturesPerModel, options.Value.MaxBatchSize, options.Value.FeatureWindow);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 1, EventName = "OtlpExportOn", Level = LogLevel.Information,
        Message = "OTLP metric export to {Endpoint} over {Protocol}")]
    private static partial void LogOtlpOn(ILogger logger, string endpoint, string protocol);

    [LoggerMessage(EventId = 2, EventName = "OtlpExportOff", Level = LogLevel.Information,
        Message = "OTLP metric export off (no OTEL_EXPORTER_OTLP_ENDPOINT); metrics are served on /metrics")]
    private static partial void LogOtlpOff(ILogger logger);

    [LoggerMessage(EventId = 5, EventName = "ReplicatedWithoutSharedStore", Level = LogLevel.Warning,
        Message = "Monitoring:Replicated is set but the join store is '{Store}', this process's own: a label or outcome sent to another replica will not join its prediction, and each replica captures its own drift baseline. Set Monitoring:GroundTruth:Store=redis")]
    private static partial void LogReplicatedWithoutSharedStore(ILogger logger, string store);

    [LoggerMessage(EventId = 4, EventName = "Slos", Level = LogLevel.Information, Message = "{Count} SLOs from {SloFile}")]
    private static partial void LogSlos(ILogger logger, int count, string sloFile);

    [LoggerMessage(EventId = 3, EventName = "Limits", Level = LogLevel.Information,
        Message = "Limits: {MaxModels} models, {MaxVersions} versions per model, {MaxClasses} classes and {MaxFeatures} features per version, batches of {MaxBatch} events; feature window {FeatureWindow}")]
    private static partial void LogLimits(ILogger logger, int maxModels, int maxVersions, int maxClasses, int maxFeatures, int maxBatch, TimeSpan featureWindow);
}

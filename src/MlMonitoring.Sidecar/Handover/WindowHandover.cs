using System.Diagnostics.Metrics;
using Google.Protobuf;
using Microsoft.Extensions.Options;
using MlMonitoring.Internal.V1;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Drift;
using MlMonitoring.Sidecar.GroundTruth;
using MlMonitoring.Sidecar.SharedState;

namespace MlMonitoring.Sidecar.Handover;

/// <summary>
/// Keeps a stopping replica's window counts in the fleet's figures. A replica scaled down takes its rolling
/// windows (labels joined, feature statistics, drift bins) with it, and the fleet's accuracy, means and PSI would
/// lose that share of the traffic until the windows had moved past it. Instead, when it stops it hands its windows
/// over through the shared state, and one replica that stays adopts them: it adds each slot into its own slot of
/// the same time, so the counts stay in the fleet's sums for exactly as long as they belong to their windows.
/// </summary>
/// <remarks>
/// Adoption waits <c>Monitoring:Handover:AdoptAfter</c>, long enough for Prometheus to have marked the stopped
/// replica's series stale: a count is never in two replicas' series at once; for that while the fleet figures
/// lack it. A replica that is killed (not stopped) hands nothing over: its windows are lost, at most one window
/// of its traffic. Registered after the server, so it stops after the last call has been recorded.
/// </remarks>
internal sealed partial class WindowHandover : BackgroundService
{
    private readonly ModelVersionRegistry _registry;
    private readonly QualityWindows _quality;
    private readonly DriftRegistry _drift;
    private readonly IWindowHandoverStore _store;
    private readonly HandoverOptions _options;
    private readonly TimeSpan _longestWindow;
    private readonly TimeProvider _time;
    private readonly ILogger<WindowHandover> _logger;
    private readonly Counter<long> _handedOver;
    private readonly Counter<long> _adopted;

    public WindowHandover(
        ModelVersionRegistry registry, QualityWindows quality, DriftRegistry drift, IWindowHandoverStore store,
        IOptions<HandoverOptions> options, IOptions<MonitoringOptions> monitoring, IOptions<GroundTruthOptions> groundTruth, IOptions<DriftOptions> driftOptions, IMeterFactory meterFactory, TimeProvider time, ILogger<WindowHandover> logger)
    {
        _registry = registry;
        _quality = quality;
        _drift = drift;
        _store = store;
        _options = options.Value;
        _longestWindow = new[] { groundTruth.Value.Window, monitoring.Value.FeatureWindow, driftOptions.Value.Window }.Max();
        _time = time;
        _logger = logger;
        var meter = meterFactory.Create(MeterNames.Sidecar);
        _handedOver = meter.CreateCounter<long>("ml_sidecar_windows_handed_over",
            description: "Model versions whose windows this replica handed over to the fleet when it stopped.");
        _adopted = meter.CreateCounter<long>("ml_sidecar_windows_adopted",
            description: "Model versions' windows handed over by a stopped replica and adopted by this one.");
    }

    /// <summary>The longest window: what was handed over longer ago than this has aged out of every window.</summary>
    private TimeSpan LongestWindow => _longestWindow;

    /// <summary>This replica's windows as a record to hand over; null when it has none.</summary>
    public HandedOverWindows? Export(DateTimeOffset now)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        var handedOver = new HandedOverWindows { Replica = Environment.MachineName, HandedOverUnixMs = nowMs };
        foreach (var model in _registry.All)
        {
            var windows = new ModelVersionWindows
            {
                ModelName = model.ModelName,
                ModelVersion = model.ModelVersion,
                Quality = _quality.Find(model)?.Export(nowMs),
                Drift = _drift.ExportWindow(model, nowMs),
            };
            foreach (var feature in model.Features)
            {
                if (feature.Statistics.Export(feature.FeatureName, now) is { Slots.Count: > 0 } statistics)
                {
                    windows.Features.Add(statistics);
                }
            }

            if (windows.Quality is { Slots.Count: > 0 } || windows.Features.Count > 0 || windows.Drift is { Slots.Count: > 0 })
            {
                handedOver.Models.Add(windows);
            }
        }

        return handedOver.Models.Count == 0 ? null : handedOver;
    }

    /// <summary>Adds windows handed over by another replica into this one's; returns the labels and feature values added.</summary>
    public (long Labels, long FeatureValues) Adopt(HandedOverWindows handedOver, DateTimeOffset now)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        long labels = 0, featureValues = 0;
        foreach (var windows in handedOver.Models)
        {
            var model = _registry.Get(windows.ModelName, windows.ModelVersion);
            if (windows.Quality is { Slots.Count: > 0 } quality)
            {
                labels += _quality.Of(model).Merge(quality, model, nowMs);
            }

            foreach (var statistics in windows.Features)
            {
                if (model.GetFeature(statistics.FeatureName) is { } feature)
                {
                    featureValues += feature.Statistics.Merge(statistics, now);
                }
            }

            if (windows.Drift is { } drift)
            {
                _drift.MergeWindow(model, drift, nowMs);
            }

            _adopted.Add(1);
        }

        return (labels, featureValues);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => PeriodicWork.RunAsync(
        _options.PollInterval, _time, AdoptHandedOverAsync, e => LogHandoverUnavailable(_logger, e.GetType().Name, e.Message), firstRoundNow: false, stoppingToken);

    /// <summary>Adopts every handed-over record that has waited long enough, one at a time.</summary>
    public async Task AdoptHandedOverAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var now = _time.GetUtcNow();
            var data = await _store.TakeHandedOverWindowsAsync(now - _options.AdoptAfter, now - LongestWindow, cancellationToken);
            if (data is null)
            {
                return;
            }

            var handedOver = HandedOverWindows.Parser.ParseFrom(data);
            var (labels, featureValues) = Adopt(handedOver, now);
            var ageSeconds = (now.ToUnixTimeMilliseconds() - handedOver.HandedOverUnixMs) / 1000.0;
            LogAdopted(_logger, handedOver.Models.Count, handedOver.Replica, ageSeconds, labels, featureValues);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (Export(_time.GetUtcNow()) is not { } windows)
        {
            return;
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.Timeout);
            await _store.HandOverWindowsAsync(windows.ToByteArray(), DateTimeOffset.FromUnixTimeMilliseconds(windows.HandedOverUnixMs), timeout.Token)
                .AsTask().WaitAsync(timeout.Token);
            _handedOver.Add(windows.Models.Count);
            LogHandedOver(_logger, windows.Models.Count);
        }
        catch (Exception e)
        {
            // The windows leave with the process, as they would without a shared store.
            LogHandoverFailed(_logger, e.GetType().Name, e.Message);
        }
    }

    [LoggerMessage(EventId = 70, EventName = "WindowsHandedOver", Level = LogLevel.Information,
        Message = "Handed the windows of {Models} model versions over to the fleet")]
    private static partial void LogHandedOver(ILogger logger, int models);

    [LoggerMessage(EventId = 71, EventName = "WindowsAdopted", Level = LogLevel.Information,
        Message = "Adopted the windows of {Models} model versions handed over by {Replica} {AgeSeconds:F1} s ago: {Labels} labels, {FeatureValues} feature values")]
    private static partial void LogAdopted(ILogger logger, int models, string replica, double ageSeconds, long labels, long featureValues);

    [LoggerMessage(EventId = 72, EventName = "WindowHandoverFailed", Level = LogLevel.Warning,
        Message = "Could not hand the windows over to the fleet; they leave with this replica: {ErrorType}: {Error}")]
    private static partial void LogHandoverFailed(ILogger logger, string errorType, string error);

    [LoggerMessage(EventId = 73, EventName = "HandedOverWindowsUnavailable", Level = LogLevel.Warning,
        Message = "Could not read handed-over windows from the shared state; trying again: {ErrorType}: {Error}")]
    private static partial void LogHandoverUnavailable(ILogger logger, string errorType, string error);
}

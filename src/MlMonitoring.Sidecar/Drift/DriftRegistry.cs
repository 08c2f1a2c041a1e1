using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Google.Protobuf;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Drift.Persistence;
using MlMonitoring.Sidecar.Metrics;
using MlMonitoring.Sidecar.SharedState;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Drift;

/// <summary>
/// The drift monitors of every model version, their persisted baselines, and the drift metrics:
/// <c>ml_prediction_drift{signal, method}</c>, <c>ml_feature_drift{feature_name, method}</c>,
/// <c>ml_model_estimated_accuracy</c> and <c>ml_drift_baseline_events</c>.
/// </summary>
internal sealed partial class DriftRegistry : IHostedService
{
    private readonly ConcurrentDictionary<ModelVersionState, DriftMonitor> _monitors = new();
    private readonly ConcurrentDictionary<(string Model, string Version), PersistedBaseline> _persisted = new();
    private readonly ISharedStateStore _store;
    private readonly DriftOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<DriftRegistry> _logger;
    private readonly CollectionSnapshot<List<(ModelVersionState Model, DriftSnapshot Drift)>> _snapshots;
    private readonly Lock _savesGate = new();
    private Task _saves = Task.CompletedTask;

    public DriftRegistry(ISharedStateStore store, IOptions<MonitoringOptions> options, IMeterFactory meterFactory, TimeProvider time, ILogger<DriftRegistry> logger)
    {
        _store = store;
        _options = options.Value.Drift;
        _time = time;
        _logger = logger;
        _snapshots = new(time, nowMs => [.. _monitors.Select(m => (m.Key, m.Value.Read(nowMs)))]);
        var meter = meterFactory.Create(MeterNames.Predictions);
        meter.CreateObservableGauge("ml_prediction_drift", () => ObservePrediction(),
            description: "Drift of the predicted-class and confidence distributions against the baseline: method psi or js (Jensen–Shannon distance, base 2).");
        meter.CreateObservableGauge("ml_feature_drift", () => ObserveFeatures(),
            description: "Drift of each input feature against the baseline: method psi or js.");
        meter.CreateObservableGauge("ml_model_estimated_accuracy", () => ObserveEstimatedAccuracy(),
            description: "Mean top-class confidence over Monitoring:Drift:Window: the expected accuracy of a calibrated classifier, before labels arrive.");
        meter.CreateObservableGauge("ml_drift_baseline_events", () => ObserveBaselineEvents(),
            description: "Events in the drift baseline (while it is being captured, how many so far).");
    }

    public bool Enabled => _options.Enabled;

    /// <summary>Counts one recorded event against its model version's baseline and window.</summary>
    public void Observe(in RecordedPrediction recorded)
    {
        if (!_options.Enabled)
        {
            return;
        }

        var model = recorded.Model;
        if (!_monitors.TryGetValue(model, out var monitor))
        {
            monitor = _monitors.GetOrAdd(model, Create);
        }

        monitor.Observe(recorded, recorded.ReceivedMs);
    }

    public DriftSnapshot? Read(ModelVersionState model) =>
        _monitors.TryGetValue(model, out var monitor) ? monitor.Read(_time.GetUtcNow().ToUnixTimeMilliseconds()) : null;

    /// <summary>Starts a new baseline for a model version from its next events.</summary>
    public int Restart(ModelVersionState model, int size)
    {
        size = size <= 0 ? _options.BaselineSize : size;
        _monitors.GetOrAdd(model, Create).Restart(size);
        return size;
    }

    /// <summary>Loads the persisted baselines before the sidecar takes traffic.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_options.Enabled)
        {
            return;
        }

        try
        {
            foreach (var (model, version, data) in await _store.LoadBaselinesAsync(cancellationToken))
            {
                var baseline = PersistedBaseline.Parser.ParseFrom(data);
                if (baseline.Generation == _options.BaselineGeneration)
                {
                    _persisted[(model, version)] = baseline;
                }
            }

            LogBaselinesLoaded(_logger, _persisted.Count);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Without the store the baselines are captured again; drift is late, nothing else is affected.
            LogBaselinesUnavailable(_logger, e.GetType().Name, e.Message);
        }
    }

    /// <summary>Waits for baselines still being persisted, so that a restart finds them.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Task saves;
        lock (_savesGate)
        {
            saves = _saves;
        }

        await saves.WaitAsync(TimeSpan.FromSeconds(3), cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private DriftMonitor Create(ModelVersionState model)
    {
        _persisted.TryRemove((model.ModelName, model.ModelVersion), out var persisted);
        return new DriftMonitor(model, _options, persisted) { Pinned = Persist };
    }

    private void Persist(DriftMonitor monitor, PersistedBaseline baseline)
    {
        baseline.Generation = _options.BaselineGeneration;
        var data = baseline.ToByteArray();
        var model = monitor.Model;
        // Off the per-event path: the event that completed the baseline does not wait for the store. Saves run one
        // after another, so the last pin of a version is the one that stays.
        lock (_savesGate)
        {
            _saves = _saves.ContinueWith(
                async _ =>
                {
                    try
                    {
                        await _store.SaveBaselineAsync(model.ModelName, model.ModelVersion, data, CancellationToken.None);
                    }
                    catch (Exception e)
                    {
                        LogBaselineNotSaved(_logger, model.ModelName, model.ModelVersion, e.GetType().Name, e.Message);
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.None,
                TaskScheduler.Default).Unwrap();
        }
    }

    private IEnumerable<Measurement<double>> ObservePrediction()
    {
        foreach (var (model, drift) in _snapshots.Get())
        {
            foreach (var signal in drift.Signals.Where(s => s.Signal != "feature"))
            {
                yield return new(signal.Psi, [.. model.Tags, new("signal", signal.Signal), new("method", "psi")]);
                yield return new(signal.Js, [.. model.Tags, new("signal", signal.Signal), new("method", "js")]);
            }
        }
    }

    private IEnumerable<Measurement<double>> ObserveFeatures()
    {
        foreach (var (model, drift) in _snapshots.Get())
        {
            foreach (var signal in drift.Signals.Where(s => s.Signal == "feature"))
            {
                yield return new(signal.Psi, [.. model.Tags, new("feature_name", signal.FeatureName), new("method", "psi")]);
                yield return new(signal.Js, [.. model.Tags, new("feature_name", signal.FeatureName), new("method", "js")]);
            }
        }
    }

    private IEnumerable<Measurement<double>> ObserveEstimatedAccuracy()
    {
        foreach (var (model, drift) in _snapshots.Get())
        {
            if (drift.EstimatedAccuracy is { } estimate)
            {
                yield return new(estimate, model.Tags);
            }
        }
    }

    private IEnumerable<Measurement<long>> ObserveBaselineEvents()
    {
        foreach (var (model, drift) in _snapshots.Get())
        {
            yield return new(drift.BaselineEvents, model.Tags);
        }
    }

    [LoggerMessage(EventId = 30, EventName = "BaselinesLoaded", Level = LogLevel.Information, Message = "Loaded {Count} persisted drift baselines")]
    private static partial void LogBaselinesLoaded(ILogger logger, int count);

    [LoggerMessage(EventId = 31, EventName = "BaselinesUnavailable", Level = LogLevel.Warning,
        Message = "Could not load drift baselines ({ErrorType}: {ErrorMessage}); they will be captured again")]
    private static partial void LogBaselinesUnavailable(ILogger logger, string errorType, string errorMessage);

    [LoggerMessage(EventId = 32, EventName = "BaselineNotSaved", Level = LogLevel.Warning,
        Message = "Could not persist the drift baseline of {ModelName} {ModelVersion} ({ErrorType}: {ErrorMessage})")]
    private static partial void LogBaselineNotSaved(ILogger logger, string modelName, string modelVersion, string errorType, string errorMessage);
}

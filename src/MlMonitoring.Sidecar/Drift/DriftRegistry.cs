using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Google.Protobuf;
using Microsoft.Extensions.Options;
using MlMonitoring.Internal.V1;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Metrics;
using MlMonitoring.Sidecar.SharedState;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Drift;

/// <summary>
/// The drift monitors of every model version, their baselines shared through <see cref="ISharedBaselineStore"/>, and
/// the drift metrics: <c>ml_prediction_drift{signal, method}</c>, <c>ml_feature_drift{feature_name, method}</c>,
/// <c>ml_model_estimated_accuracy</c> and <c>ml_drift_baseline_events</c>.
/// </summary>
/// <remarks>
/// One baseline per model version for the fleet: the first replica to complete it publishes it; the others adopt
/// it at their next read of the store (every <c>Monitoring:Drift:SyncInterval</c>), replicas started later load
/// it at start, and a pin on any replica is announced through the store for all to capture again. A store that
/// restarted empty (Redis without persistence) is given the fleet's baselines back by the replicas that hold them;
/// if a replica started meanwhile published one of its own, the holders write theirs back under the next epoch,
/// which every replica adopts, so the fleet keeps comparing with one baseline (<c>ml_drift_baseline_info</c>).
/// </remarks>
internal sealed partial class DriftRegistry : IHostedService
{
    private readonly ConcurrentDictionary<ModelVersionState, DriftMonitor> _monitors = new();
    private readonly ConcurrentDictionary<(string Model, string Version), StoredBaseline> _stored = new();
    private readonly CancellationToken _stopping;
    private Task _sync = Task.CompletedTask;
    private readonly ISharedBaselineStore _store;
    private readonly DriftOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<DriftRegistry> _logger;
    private readonly CollectionSnapshot<List<(ModelVersionState Model, DriftSnapshot Drift)>> _snapshots;
    private readonly Lock _savesGate = new();
    private readonly DeferredInstruments _instruments;
    private readonly DriftCriticalValues _critical;
    private Task _saves = Task.CompletedTask;

    public DriftRegistry(
        ISharedBaselineStore store, IOptions<DriftOptions> drift, IOptions<MonitoringOptions> options, IMeterFactory meterFactory, TimeProvider time, IHostApplicationLifetime lifetime, ILogger<DriftRegistry> logger)
    {
        // Reading the store ends when the host begins to stop, before the hosted services stop.
        _stopping = lifetime.ApplicationStopping;
        _store = store;
        _options = drift.Value;
        _time = time;
        _logger = logger;
        _critical = new DriftCriticalValues(_options.FalseAlarmRate);
        _snapshots = new(time, options.Value.SnapshotReuse, nowMs => [.. _monitors.Select(m => (m.Key, m.Value.Read(nowMs)))]);
        // Published with the first monitor, that is with the first event of a model version while drift is on.
        _instruments = new(meterFactory.Create(MeterNames.Predictions), Publish);
    }

    public bool Enabled => _options.Enabled;

    private void Publish(Meter meter)
    {
        meter.CreateObservableGauge("ml_prediction_drift", () => ObservePrediction(),
            description: "Drift of the predicted-class and confidence distributions against the baseline: method psi or js (Jensen–Shannon distance, base 2).");
        meter.CreateObservableGauge("ml_feature_drift", () => ObserveFeatures(),
            description: "Drift of each input feature against the baseline: method psi or js.");
        meter.CreateObservableGauge("ml_model_estimated_accuracy", () => ObserveEstimatedAccuracy(),
            description: "Mean top-class confidence over Monitoring:Drift:Window: the expected accuracy of a calibrated classifier, before labels arrive.");
        // The estimate's terms: summed across replicas, the fleet's estimated accuracy (ml-fleet.yaml).
        meter.CreateObservableGauge("ml_drift_window_confidence", () => ObserveEstimateTerms(d => d.ConfidenceSum),
            description: "Sum of the top-class confidences of the predictions in Monitoring:Drift:Window.");
        meter.CreateObservableGauge("ml_drift_window_confident_predictions", () => ObserveEstimateTerms(d => d.ConfidenceCount),
            description: "Predictions with a confidence in Monitoring:Drift:Window.");
        meter.CreateObservableGauge("ml_drift_baseline_events", () => ObserveBaselineEvents(),
            description: "Events in the drift baseline (while it is being captured, how many so far).");
        meter.CreateObservableGauge("ml_drift_baseline_info", () => ObserveBaselineInfo(),
            description: "1 for the fleet baseline each model version compares with: its epoch and a fingerprint of its record. Replicas that disagree compare with different baselines.");

        // The counts behind ml_prediction_drift and ml_feature_drift, bin by bin over the baseline's edges (the
        // fleet's, shared): summed across replicas they give the fleet's PSI and JS (ml-fleet.yaml).
        meter.CreateObservableGauge("ml_drift_window_bin", () => ObserveBins(s => s.CurrentCounts),
            description: "Events of the drift window in each bin of the baseline (signal class, confidence or feature; bin: the bin's index).");
        meter.CreateObservableGauge("ml_drift_baseline_bin", () => ObserveBins(s => s.BaselineCounts),
            description: "Events of the baseline in each of its bins: the same on every replica that shares it.");

        // What chance alone gives: a drift alert needs the fleet's PSI above the critical value scaled to its window
        // (ml-fleet.yaml), so that a version that has not drifted alerts at Monitoring:Drift:FalseAlarmRate at most.
        meter.CreateObservableGauge("ml_drift_psi_critical_factor", ObserveCriticalFactors,
            description: "The critical PSI of each signal at level Monitoring:Drift:FalseAlarmRate (shared among the version's signals), divided by (1/n + 1/m), for a fleet window of n events from ml_drift_critical_window_events of its grid up to the next grid's; m the baseline's events.");
        meter.CreateObservableGauge("ml_drift_critical_window_events", ObserveCriticalGrid,
            description: "The smallest window, in events, each grid point of ml_drift_psi_critical_factor holds for.");

        // A histogram of each numeric feature over the drift window, its bounds the fleet baseline's percentiles:
        // summed across replicas by le, histogram_quantile gives the fleet's quantiles (ml-fleet.yaml).
        meter.CreateObservableGauge("ml_feature_window_bucket", ObserveFeatureQuantileBuckets,
            description: "Values of each numeric feature in Monitoring:Drift:Window at most le (cumulative), le the fleet baseline's minimum, percentiles 1, 5, 10, 20 … 90, 95, 99 and maximum.");
    }

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

    /// <summary>The drift window of a model version, to hand over; null when it has none.</summary>
    public DriftWindowRecord? ExportWindow(ModelVersionState model, long nowMs) =>
        _monitors.TryGetValue(model, out var monitor) ? monitor.Export(nowMs) : null;

    /// <summary>Adds a drift window handed over by another replica; returns the slots added.</summary>
    public int MergeWindow(ModelVersionState model, DriftWindowRecord record, long nowMs) =>
        _options.Enabled ? _monitors.GetOrAdd(model, Create).Merge(record, nowMs) : 0;

    public DriftSnapshot? Read(ModelVersionState model) =>
        _monitors.TryGetValue(model, out var monitor) ? monitor.Read(_time.GetUtcNow().ToUnixTimeMilliseconds()) : null;

    /// <summary>
    /// Starts a new baseline for a model version from its next events, for the whole fleet: the pin is announced
    /// through the store with the next epoch, and every replica captures again.
    /// </summary>
    public int Restart(ModelVersionState model, int size)
    {
        size = size <= 0 ? _options.BaselineSize : size;
        var monitor = _monitors.GetOrAdd(model, Create);
        var stored = _stored.GetValueOrDefault((model.ModelName, model.ModelVersion));
        var epoch = Math.Max(monitor.Epoch, stored?.Epoch ?? 0) + 1;
        monitor.Restart(size, epoch);
        var pin = new PersistedBaseline { Generation = _options.BaselineGeneration, CaptureSize = (uint)size };
        Publish(monitor, new StoredBaseline(model.ModelName, model.ModelVersion, epoch, Complete: false, pin.ToByteArray()));
        return size;
    }

    /// <summary>Loads the shared baselines before the sidecar takes traffic, then keeps reading them.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_options.Enabled)
        {
            return;
        }

        try
        {
            var count = await LoadAsync(cancellationToken);
            LogBaselinesLoaded(_logger, count);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Without the store the baselines are captured here; drift is late, nothing else is affected.
            LogBaselinesUnavailable(_logger, e.GetType().Name, e.Message);
        }

        _sync = SyncLoopAsync(_stopping);
    }

    /// <summary>Waits for baselines still being published, so that a restart finds them.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _sync.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        Task saves;
        lock (_savesGate)
        {
            saves = _saves;
        }

        await saves.WaitAsync(TimeSpan.FromSeconds(3), cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>
    /// Reads the store: records the latest of every version, and hands each running monitor its version's record
    /// to adopt if newer. A captured baseline the store has not taken yet is published again. Returns how many
    /// versions the store holds.
    /// </summary>
    internal async Task<int> SyncAsync(CancellationToken cancellationToken)
    {
        var count = await LoadAsync(cancellationToken);
        foreach (var (model, monitor) in _monitors)
        {
            var stored = _stored.GetValueOrDefault((model.ModelName, model.ModelVersion));
            if (stored is not null && monitor.Adopt(stored))
            {
                LogBaselineAdopted(_logger, model.ModelName, model.ModelVersion, stored.Epoch, stored.Complete ? "baseline" : "pin");
            }
            else if (monitor.Unpublished is { } unpublished)
            {
                Publish(monitor, Record(monitor, unpublished.Baseline, unpublished.Epoch));
            }
            else if (monitor.Held is { } held && LostBy(stored, held.Record, held.Epoch) is { } epoch)
            {
                LogBaselineWrittenBack(_logger, model.ModelName, model.ModelVersion, held.Epoch, epoch);
                Publish(monitor, new StoredBaseline(model.ModelName, model.ModelVersion, epoch, Complete: true, held.Record));
            }
        }

        return count;
    }

    /// <summary>
    /// The epoch under which a held baseline must be written back, or null when the store still has it. Nothing
    /// stored: the store lost it, and the same epoch restores it. Another baseline of the same epoch: one captured
    /// by a replica that started after the loss, which the next epoch supersedes on every replica.
    /// </summary>
    private static long? LostBy(StoredBaseline? stored, byte[] held, long heldEpoch) => stored switch
    {
        null => heldEpoch,
        { Complete: true } when stored.Epoch == heldEpoch && !stored.Data.AsSpan().SequenceEqual(held) => heldEpoch + 1,
        _ => null,
    };

    /// <summary>Reads every version's record; a version the store no longer has is forgotten here too.</summary>
    private async Task<int> LoadAsync(CancellationToken cancellationToken)
    {
        var baselines = await _store.LoadBaselinesAsync(cancellationToken);
        var present = new HashSet<(string, string)>();
        foreach (var baseline in baselines)
        {
            _stored[(baseline.ModelName, baseline.ModelVersion)] = baseline;
            present.Add((baseline.ModelName, baseline.ModelVersion));
        }

        foreach (var key in _stored.Keys.Where(k => !present.Contains(k)))
        {
            _stored.TryRemove(key, out _);
        }

        return baselines.Count;
    }

    private Task SyncLoopAsync(CancellationToken stopping) => PeriodicWork.RunAsync(
        _options.SyncInterval, _time, SyncAsync, e => LogBaselinesUnavailable(_logger, e.GetType().Name, e.Message), firstRoundNow: false, stopping);

    /// <summary>
    /// A monitor for a version first seen here: from the fleet's baseline when there is one of this generation,
    /// capturing the announced pin when one is under way, otherwise capturing the next epoch.
    /// </summary>
    private DriftMonitor Create(ModelVersionState model)
    {
        _instruments.EnsurePublished();
        DriftMonitor monitor;
        if (_stored.GetValueOrDefault((model.ModelName, model.ModelVersion)) is not { } stored)
        {
            monitor = new DriftMonitor(model, _options, epoch: 1, baseline: null, _options.BaselineSize);
        }
        else
        {
            var record = PersistedBaseline.Parser.ParseFrom(stored.Data);
            monitor = (stored.Complete, record.Generation == _options.BaselineGeneration) switch
            {
                (true, true) => new DriftMonitor(model, _options, stored.Epoch, record, _options.BaselineSize, stored.Data),
                // A baseline of another Monitoring:Drift:BaselineGeneration: captured again, as the next epoch.
                (true, false) => new DriftMonitor(model, _options, stored.Epoch + 1, baseline: null, _options.BaselineSize),
                _ => new DriftMonitor(model, _options, stored.Epoch, baseline: null, record.CaptureSize > 0 ? (int)record.CaptureSize : _options.BaselineSize),
            };
        }

        monitor.Pinned = (m, baseline, epoch) => Publish(m, Record(m, baseline, epoch));
        return monitor;
    }

    private StoredBaseline Record(DriftMonitor monitor, PersistedBaseline baseline, long epoch)
    {
        baseline.Generation = _options.BaselineGeneration;
        return new StoredBaseline(monitor.Model.ModelName, monitor.Model.ModelVersion, epoch, Complete: true, baseline.ToByteArray());
    }

    /// <summary>
    /// Publishes off the per-event path (the event that completed the baseline does not wait for the store), one
    /// after another. A baseline the store refused lost to another replica's: the next read adopts that one.
    /// </summary>
    private void Publish(DriftMonitor monitor, StoredBaseline record)
    {
        lock (_savesGate)
        {
            _saves = _saves.ContinueWith(
                async _ =>
                {
                    try
                    {
                        if (await _store.PublishBaselineAsync(record, CancellationToken.None))
                        {
                            _stored[(record.ModelName, record.ModelVersion)] = record;
                            if (record.Complete)
                            {
                                monitor.MarkWrittenBack(record.Data, record.Epoch);
                                monitor.MarkPublished(record.Epoch, record.Data);
                            }
                        }
                        else
                        {
                            await SyncAsync(_stopping);
                        }
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        LogBaselineNotSaved(_logger, record.ModelName, record.ModelVersion, e.GetType().Name, e.Message);
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

    private IEnumerable<Measurement<long>> ObserveBins(Func<DriftSignal, Google.Protobuf.Collections.RepeatedField<ulong>> counts)
    {
        foreach (var (model, drift) in _snapshots.Get())
        {
            foreach (var signal in drift.Signals)
            {
                var values = counts(signal);
                for (var bin = 0; bin < values.Count; bin++)
                {
                    yield return new((long)values[bin], SignalTags(model, signal, "bin", BinLabel(bin)));
                }
            }
        }
    }

    private IEnumerable<Measurement<long>> ObserveFeatureQuantileBuckets()
    {
        foreach (var (model, drift) in _snapshots.Get())
        {
            foreach (var histogram in drift.FeatureQuantiles)
            {
                long cumulative = 0;
                for (var bucket = 0; bucket < histogram.Counts.Length; bucket++)
                {
                    cumulative += histogram.Counts[bucket];
                    yield return new(cumulative, [.. model.Tags, new(LabelNames.FeatureName, histogram.FeatureName), new("le", histogram.UpperBounds[bucket])]);
                }
            }
        }
    }

    private static readonly string[] GridLabels = [.. Enumerable.Range(0, PsiCriticalValues.WindowGrid.Length).Select(i => i.ToString("00", System.Globalization.CultureInfo.InvariantCulture))];

    private IEnumerable<Measurement<double>> ObserveCriticalFactors()
    {
        var snapshots = _snapshots.Get();
        _critical.Retain(snapshots.Select(s => s.Model).ToHashSet());
        foreach (var (model, drift) in snapshots)
        {
            foreach (var signal in drift.Signals)
            {
                if (_critical.Get(model, signal, drift.BaselineSignals) is not { } factors)
                {
                    continue;
                }

                for (var grid = 0; grid < factors.Length; grid++)
                {
                    yield return new(factors[grid], SignalTags(model, signal, "grid", GridLabels[grid]));
                }
            }
        }
    }

    /// <summary>A signal's series: the model version, the signal, its feature (for a feature) and one more label.</summary>
    private static KeyValuePair<string, object?>[] SignalTags(ModelVersionState model, DriftSignal signal, string key, string value) =>
        signal.Signal == "feature"
            ? [.. model.Tags, new("signal", signal.Signal), new(LabelNames.FeatureName, signal.FeatureName), new(key, value)]
            : [.. model.Tags, new("signal", signal.Signal), new(key, value)];

    private static IEnumerable<Measurement<long>> ObserveCriticalGrid()
    {
        for (var grid = 0; grid < PsiCriticalValues.WindowGrid.Length; grid++)
        {
            yield return new(PsiCriticalValues.WindowGrid[grid], new KeyValuePair<string, object?>("grid", GridLabels[grid]));
        }
    }

    /// <summary>Completes when the critical values asked for so far are simulated.</summary>
    internal Task CriticalValuesIdle => _critical.Idle;

    private static readonly string[] BinLabels = [.. Enumerable.Range(0, 64).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    private static string BinLabel(int bin) => bin < BinLabels.Length ? BinLabels[bin] : bin.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private IEnumerable<Measurement<double>> ObserveEstimateTerms(Func<DriftSnapshot, double> term)
    {
        foreach (var (model, drift) in _snapshots.Get())
        {
            if (drift.ConfidenceCount > 0)
            {
                yield return new(term(drift), model.Tags);
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

    private IEnumerable<Measurement<long>> ObserveBaselineInfo()
    {
        foreach (var (model, monitor) in _monitors)
        {
            if (monitor.Held is { } held)
            {
                yield return new(1, [.. model.Tags, new("epoch", held.Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture)), new("fingerprint", Fingerprint(held.Record))]);
            }
        }
    }

    /// <summary>Eight hex digits of a hash of the stored record: the same on every replica holding the same baseline.</summary>
    internal static string Fingerprint(byte[] record) =>
        (System.IO.Hashing.XxHash32.HashToUInt32(record)).ToString("x8", System.Globalization.CultureInfo.InvariantCulture);

    private IEnumerable<Measurement<long>> ObserveBaselineEvents()
    {
        foreach (var (model, drift) in _snapshots.Get())
        {
            yield return new(drift.BaselineEvents, model.Tags);
        }
    }

    [LoggerMessage(EventId = 33, EventName = "BaselineAdopted", Level = LogLevel.Information,
        Message = "Adopted the fleet's drift {Record} of {ModelName} {ModelVersion}, epoch {Epoch}")]
    private static partial void LogBaselineAdopted(ILogger logger, string modelName, string modelVersion, long epoch, string record);

    [LoggerMessage(EventId = 34, EventName = "BaselineWrittenBack", Level = LogLevel.Warning,
        Message = "The shared store had lost the drift baseline of {ModelName} {ModelVersion} (epoch {Epoch}), or holds another one captured since; writing it back as epoch {NewEpoch}")]
    private static partial void LogBaselineWrittenBack(ILogger logger, string modelName, string modelVersion, long epoch, long newEpoch);

    [LoggerMessage(EventId = 30, EventName = "BaselinesLoaded", Level = LogLevel.Information, Message = "Loaded {Count} persisted drift baselines")]
    private static partial void LogBaselinesLoaded(ILogger logger, int count);

    [LoggerMessage(EventId = 31, EventName = "BaselinesUnavailable", Level = LogLevel.Warning,
        Message = "Could not load drift baselines ({ErrorType}: {ErrorMessage}); they will be captured again")]
    private static partial void LogBaselinesUnavailable(ILogger logger, string errorType, string errorMessage);

    [LoggerMessage(EventId = 32, EventName = "BaselineNotSaved", Level = LogLevel.Warning,
        Message = "Could not publish the drift baseline of {ModelName} {ModelVersion} ({ErrorType}: {ErrorMessage}); it is published again at the next read of the store")]
    private static partial void LogBaselineNotSaved(ILogger logger, string modelName, string modelVersion, string errorType, string errorMessage);
}

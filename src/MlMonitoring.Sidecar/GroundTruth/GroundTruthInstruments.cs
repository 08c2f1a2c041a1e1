using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;
using Tag = System.Collections.Generic.KeyValuePair<string, object?>;

namespace MlMonitoring.Sidecar.GroundTruth;

/// <summary>
/// The metrics of joined labels and business outcomes. Counters carry what PromQL can sum across replicas (the
/// confusion matrix, error sums); gauges carry the rolling-window figures the sidecar computes itself.
/// </summary>
internal sealed class GroundTruthInstruments
{
    private readonly ConcurrentDictionary<ModelVersionState, QualityWindow> _windows = new();
    private readonly ConcurrentDictionary<(ClassSeries Predicted, ClassSeries Actual), Tag[]> _confusionTags = new();
    private readonly TimeSpan _window;
    private readonly TimeProvider _time;
    private readonly CollectionSnapshot<List<(ModelVersionState Model, QualitySnapshot Quality)>> _snapshots;
    private long _pending;

    public GroundTruthInstruments(IMeterFactory meterFactory, IOptions<MonitoringOptions> options, TimeProvider time)
    {
        _window = options.Value.GroundTruth.Window;
        _time = time;
        _snapshots = new(time, nowMs => [.. _windows.Select(w => (w.Key, w.Value.Read(nowMs))).Where(s => s.Item2.SampleSize > 0)]);
        var meter = meterFactory.Create(MeterNames.Predictions);
        Labels = meter.CreateCounter<long>(
            "ml_ground_truth", description: "Joined labels by predicted and actual class: the confusion matrix.");
        CorrectLabels = meter.CreateCounter<long>(
            "ml_ground_truth_correct", description: "Joined labels whose actual class is the predicted one (the accuracy SLI's good events).");
        RegressionLabels = meter.CreateCounter<long>(
            "ml_ground_truth_regression", description: "Joined labels of regression predictions.");
        AbsoluteError = meter.CreateCounter<double>(
            "ml_ground_truth_absolute_error", description: "Sum of |actual - predicted| over joined regression labels.");
        SquaredError = meter.CreateCounter<double>(
            "ml_ground_truth_squared_error", description: "Sum of (actual - predicted)^2 over joined regression labels.");
        Delay = meter.CreateHistogram(
            "ml_ground_truth_delay", unit: "s", description: "Label time minus prediction time.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = QualityWindow.DelayBuckets });
        Unmatched = meter.CreateCounter<long>(
            "ml_ground_truth_unmatched", description: "Labels that joined no prediction: unknown id, expired, or a duplicate.");
        Evicted = meter.CreateCounter<long>(
            "ml_ground_truth_evicted", description: "Pending predictions given up: reason ttl, or capacity (Monitoring:GroundTruth:MaxPending).");
        Outcomes = meter.CreateCounter<long>(
            "ml_business_outcomes", description: "Business outcomes attributed to the model version of their prediction.");
        OutcomeValue = meter.CreateCounter<double>(
            "ml_business_value", description: "Sum of business outcome values attributed to the model version of their prediction.");
        UnattributedOutcomes = meter.CreateCounter<long>(
            "ml_business_outcomes_unattributed", description: "Outcomes whose prediction was not found and that named no model.");
        meter.CreateObservableGauge("ml_ground_truth_pending", () => Interlocked.Read(ref _pending),
            description: "Predictions waiting for their label in the join store (at the last sweep).");

        meter.CreateObservableGauge("ml_model_accuracy", () => Observe(q => q.ClassificationCount > 0 ? q.Accuracy : null),
            description: "Accuracy over the ground-truth window.");
        meter.CreateObservableGauge("ml_ground_truth_sample_size", () => Observe(q => q.SampleSize),
            description: "Labelled predictions in the ground-truth window.");
        meter.CreateObservableGauge("ml_model_precision_macro", () => Observe(q => q.ClassificationCount > 0 ? q.PrecisionMacro : null),
            description: "Unweighted mean of per-class precision over the ground-truth window.");
        meter.CreateObservableGauge("ml_model_recall_macro", () => Observe(q => q.ClassificationCount > 0 ? q.RecallMacro : null),
            description: "Unweighted mean of per-class recall over the ground-truth window.");
        meter.CreateObservableGauge("ml_model_f1_macro", () => Observe(q => q.ClassificationCount > 0 ? q.F1Macro : null),
            description: "Unweighted mean of per-class F1 over the ground-truth window.");
        meter.CreateObservableGauge("ml_model_precision", () => ObservePerClass(c => c.Precision),
            description: "Per-class precision over the ground-truth window.");
        meter.CreateObservableGauge("ml_model_recall", () => ObservePerClass(c => c.Recall),
            description: "Per-class recall over the ground-truth window.");
        meter.CreateObservableGauge("ml_model_f1", () => ObservePerClass(c => c.F1),
            description: "Per-class F1 over the ground-truth window.");
        meter.CreateObservableGauge("ml_model_calibration_error", () => Observe(q => double.IsNaN(q.CalibrationError) ? null : q.CalibrationError),
            description: "Expected calibration error (10 equal-width confidence bins) over the ground-truth window: how far confidence-based estimates can be trusted.");
        meter.CreateObservableGauge("ml_model_mae", () => Observe(q => q.RegressionCount > 0 ? q.MeanAbsoluteError : null),
            description: "Mean absolute error over the ground-truth window.");
        meter.CreateObservableGauge("ml_model_rmse", () => Observe(q => q.RegressionCount > 0 ? q.RootMeanSquaredError : null),
            description: "Root mean squared error over the ground-truth window.");
    }

    public Counter<long> Labels { get; }

    public Counter<long> CorrectLabels { get; }

    public Counter<long> RegressionLabels { get; }

    public Counter<double> AbsoluteError { get; }

    public Counter<double> SquaredError { get; }

    public Histogram<double> Delay { get; }

    public Counter<long> Unmatched { get; }

    public Counter<long> Evicted { get; }

    public Counter<long> Outcomes { get; }

    public Counter<double> OutcomeValue { get; }

    public Counter<long> UnattributedOutcomes { get; }

    public TimeSpan Window => _window;

    public QualityWindow WindowOf(ModelVersionState model) => _windows.GetOrAdd(model, _ => new QualityWindow(_window));

    public QualityWindow? FindWindow(ModelVersionState model) => _windows.GetValueOrDefault(model);

    public long Pending
    {
        get => Interlocked.Read(ref _pending);
        set => Interlocked.Exchange(ref _pending, value);
    }

    /// <summary>{model_name, model_version, predicted_class, actual_class}, built once per cell.</summary>
    public Tag[] ConfusionTags(ClassSeries predicted, ClassSeries actual) =>
        _confusionTags.GetOrAdd((predicted, actual), cell => [.. cell.Predicted.Tags, new("actual_class", cell.Actual.Name)]);

    private IEnumerable<Measurement<double>> Observe(Func<QualitySnapshot, double?> value)
    {
        foreach (var (model, quality) in _snapshots.Get())
        {
            if (value(quality) is { } v)
            {
                yield return new(v, model.Tags);
            }
        }
    }

    private IEnumerable<Measurement<double>> ObservePerClass(Func<ClassScore, double> value)
    {
        foreach (var (model, quality) in _snapshots.Get())
        {
            foreach (var score in quality.Classes)
            {
                yield return new(value(score), [.. model.Tags, new("class", score.ClassName)]);
            }
        }
    }
}

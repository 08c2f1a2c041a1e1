using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.GroundTruth;

/// <summary>
/// The quality of each model version over the rolling ground-truth window (<c>Monitoring:GroundTruth:Window</c>):
/// filled by the joiner as labels join, read by <c>GetModelStatus</c> and the quality SLOs, and exported as gauges
/// (accuracy, per-class precision/recall/F1, calibration error, MAE, RMSE).
/// </summary>
internal sealed class QualityWindows
{
    /// <summary>The lower edges of the calibration bins as labels: "0.0" … "0.9".</summary>
    private static readonly string[] CalibrationEdges =
        [.. Enumerable.Range(0, QualityWindow.CalibrationBins).Select(b => ((double)b / QualityWindow.CalibrationBins).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture))];

    private readonly ConcurrentDictionary<ModelVersionState, QualityWindow> _windows = new();
    private readonly CollectionSnapshot<List<(ModelVersionState Model, QualitySnapshot Quality)>> _snapshots;
    private readonly DeferredInstruments _instruments;

    public QualityWindows(IMeterFactory meterFactory, IOptions<GroundTruthOptions> groundTruth, IOptions<MonitoringOptions> options, TimeProvider time)
    {
        Window = groundTruth.Value.Window;
        _snapshots = new(time, options.Value.SnapshotReuse, nowMs => [.. _windows.Select(w => (w.Key, w.Value.Read(nowMs))).Where(s => s.Item2.SampleSize > 0)]);
        // Published with the first window, that is with the first label that joins.
        _instruments = new(meterFactory.Create(MeterNames.Predictions), Publish);
    }

    /// <summary>How far back the windows reach.</summary>
    public TimeSpan Window { get; }

    /// <summary>The window of a model version, made on its first label.</summary>
    public QualityWindow Of(ModelVersionState model)
    {
        _instruments.EnsurePublished();
        return _windows.GetOrAdd(model, _ => new QualityWindow(Window));
    }

    /// <summary>The window of a model version; null until a label of it has joined.</summary>
    public QualityWindow? Find(ModelVersionState model) => _windows.GetValueOrDefault(model);

    private void Publish(Meter meter)
    {
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

        // The counts behind every figure above, over the same window: summed across replicas by PromQL, they give
        // the fleet's figures exactly (monitoring/prometheus/rules/fleet.rules.yml), which no average of the
        // replicas' ratios can.
        meter.CreateObservableGauge("ml_ground_truth_window_labels", ObserveCells,
            description: "Labelled classifications in the ground-truth window by predicted and actual class: the window's confusion matrix.");
        meter.CreateObservableGauge("ml_ground_truth_window_true_positives", ObserveTruePositives,
            description: "Per class of the ground-truth window (predicted or actual), labels whose predicted and actual class are that class; 0 included.");
        meter.CreateObservableGauge("ml_ground_truth_window_regression_labels", () => ObserveRegression(q => q.RegressionCount),
            description: "Regression labels in the ground-truth window.");
        meter.CreateObservableGauge("ml_ground_truth_window_absolute_error", () => ObserveRegression(q => q.AbsoluteErrorSum),
            description: "Sum of |actual - predicted| over the regression labels in the ground-truth window.");
        meter.CreateObservableGauge("ml_ground_truth_window_squared_error", () => ObserveRegression(q => q.SquaredErrorSum),
            description: "Sum of (actual - predicted)^2 over the regression labels in the ground-truth window.");
        meter.CreateObservableGauge("ml_ground_truth_window_calibration_labels", () => ObserveCalibration((c, b) => c.Labels[b]),
            description: "Labelled classifications with a confidence in the ground-truth window, by confidence bin (its lower edge).");
        meter.CreateObservableGauge("ml_ground_truth_window_calibration_correct", () => ObserveCalibration((c, b) => c.Correct[b]),
            description: "Correct labelled classifications in the ground-truth window, by confidence bin.");
        meter.CreateObservableGauge("ml_ground_truth_window_calibration_confidence", () => ObserveCalibration((c, b) => c.ConfidenceSums[b]),
            description: "Sum of the confidences of the labelled classifications in the ground-truth window, by confidence bin.");
    }

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

    private IEnumerable<Measurement<long>> ObserveCells()
    {
        foreach (var (model, quality) in _snapshots.Get())
        {
            foreach (var ((predicted, actual), count) in quality.Cells)
            {
                yield return new(count, [.. predicted.Tags, new(LabelNames.ActualClass, actual.Name)]);
            }
        }
    }

    private IEnumerable<Measurement<long>> ObserveTruePositives()
    {
        foreach (var (model, quality) in _snapshots.Get())
        {
            foreach (var score in quality.Classes)
            {
                yield return new(score.TruePositives, [.. model.Tags, new("class", score.ClassName)]);
            }
        }
    }

    private IEnumerable<Measurement<double>> ObserveRegression(Func<QualitySnapshot, double> value)
    {
        foreach (var (model, quality) in _snapshots.Get())
        {
            if (quality.RegressionCount > 0)
            {
                yield return new(value(quality), model.Tags);
            }
        }
    }

    private IEnumerable<Measurement<double>> ObserveCalibration(Func<CalibrationCounts, int, double> value)
    {
        foreach (var (model, quality) in _snapshots.Get())
        {
            if (quality.Calibration is not { } calibration)
            {
                continue;
            }

            for (var bin = 0; bin < calibration.Labels.Length; bin++)
            {
                if (calibration.Labels[bin] > 0)
                {
                    yield return new(value(calibration, bin), [.. model.Tags, new("bin", CalibrationEdges[bin])]);
                }
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

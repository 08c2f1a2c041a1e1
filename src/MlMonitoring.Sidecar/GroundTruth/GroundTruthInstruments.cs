using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using MlMonitoring.Sidecar.Core;
using Tag = System.Collections.Generic.KeyValuePair<string, object?>;

namespace MlMonitoring.Sidecar.GroundTruth;

/// <summary>
/// The counters of joined labels and business outcomes: what PromQL can sum across replicas (the confusion matrix,
/// error sums). The rolling-window figures computed here are <see cref="QualityWindows"/>'.
/// </summary>
internal sealed class GroundTruthInstruments
{
    private readonly ConcurrentDictionary<(ClassSeries Predicted, ClassSeries Actual), Tag[]> _confusionTags = new();
    private long _pending;

    public GroundTruthInstruments(IMeterFactory meterFactory)
    {
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

    public long Pending
    {
        get => Interlocked.Read(ref _pending);
        set => Interlocked.Exchange(ref _pending, value);
    }

    /// <summary>{model_name, model_version, predicted_class, actual_class}, built once per cell.</summary>
    public Tag[] ConfusionTags(ClassSeries predicted, ClassSeries actual) =>
        _confusionTags.GetOrAdd((predicted, actual), cell => [.. cell.Predicted.Tags, new("actual_class", cell.Actual.Name)]);
}

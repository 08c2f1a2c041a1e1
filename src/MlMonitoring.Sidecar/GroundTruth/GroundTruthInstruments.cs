using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using MlMonitoring.Sidecar.Core;
using Tag = System.Collections.Generic.KeyValuePair<string, object?>;

namespace MlMonitoring.Sidecar.GroundTruth;

/// <summary>
/// The counters of joined labels and business outcomes: what PromQL can sum across replicas (the confusion matrix,
/// error sums). The rolling-window figures computed here are <see cref="QualityWindows"/>'.
/// </summary>
/// <remarks>
/// Published with the first label, outcome, eviction or waiting prediction, not at start, for the reason
/// <see cref="DeferredInstruments"/> gives: a model that is never sent a label does not pay for them. Unlike the
/// gauges deferred there, these are recorded to, so the first use creates and hands them out (a <see cref="Lazy{T}"/>).
/// </remarks>
internal sealed class GroundTruthInstruments
{
    private readonly ConcurrentDictionary<(ClassSeries Predicted, ClassSeries Actual), Tag[]> _confusionTags = new();
    private readonly Lazy<PublishedInstruments> _published;
    private long _pending;

    public GroundTruthInstruments(IMeterFactory meterFactory, EarlyLabels early)
    {
        var meter = meterFactory.Create(MeterNames.Predictions);
        Early = early;
        _published = new(() => new PublishedInstruments(meter, this), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The labels and outcomes waiting for their prediction, read by their gauge.</summary>
    public EarlyLabels Early { get; }

    /// <summary>Predictions waiting for their label at the last sweep; reading or setting it publishes nothing.</summary>
    public long Pending
    {
        get => Interlocked.Read(ref _pending);
        set => Interlocked.Exchange(ref _pending, value);
    }

    /// <summary>The instruments, published by the first use.</summary>
    public PublishedInstruments Published => _published.Value;

    /// <summary>{model_name, model_version, predicted_class, actual_class}, built once per cell.</summary>
    public Tag[] ConfusionTags(ClassSeries predicted, ClassSeries actual) =>
        _confusionTags.GetOrAdd((predicted, actual), cell => [.. cell.Predicted.Tags, new("actual_class", cell.Actual.Name)]);

    /// <summary>The counters, the delay histogram and the pending gauge, created together.</summary>
    internal sealed class PublishedInstruments(Meter meter, GroundTruthInstruments owner)
    {
        public Counter<long> Labels { get; } = meter.CreateCounter<long>(
            "ml_ground_truth", description: "Joined labels by predicted and actual class: the confusion matrix.");

        public Counter<long> CorrectLabels { get; } = meter.CreateCounter<long>(
            "ml_ground_truth_correct", description: "Joined labels whose actual class is the predicted one (the accuracy SLI's good events).");

        public Counter<long> RegressionLabels { get; } = meter.CreateCounter<long>(
            "ml_ground_truth_regression", description: "Joined labels of regression predictions.");

        public Counter<double> AbsoluteError { get; } = meter.CreateCounter<double>(
            "ml_ground_truth_absolute_error", description: "Sum of |actual - predicted| over joined regression labels.");

        public Counter<double> SquaredError { get; } = meter.CreateCounter<double>(
            "ml_ground_truth_squared_error", description: "Sum of (actual - predicted)^2 over joined regression labels.");

        public Histogram<double> Delay { get; } = meter.CreateHistogram(
            "ml_ground_truth_delay", unit: "s", description: "Label time minus prediction time.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = QualityWindow.DelayBuckets });

        public Counter<long> Unmatched { get; } = meter.CreateCounter<long>(
            "ml_ground_truth_unmatched", description: "Labels that joined no prediction: unknown id, expired, or a duplicate.");

        public Counter<long> Evicted { get; } = meter.CreateCounter<long>(
            "ml_ground_truth_evicted", description: "Pending predictions given up: reason ttl, or capacity (Monitoring:GroundTruth:MaxPending).");

        public Counter<long> Outcomes { get; } = meter.CreateCounter<long>(
            "ml_business_outcomes", description: "Business outcomes attributed to the model version of their prediction.");

        public Counter<double> OutcomeValue { get; } = meter.CreateCounter<double>(
            "ml_business_value", description: "Sum of business outcome values attributed to the model version of their prediction.");

        public Counter<long> UnattributedOutcomes { get; } = meter.CreateCounter<long>(
            "ml_business_outcomes_unattributed", description: "Outcomes whose prediction was not found and that named no model.");

        public ObservableGauge<long> Pending { get; } = meter.CreateObservableGauge(
            "ml_ground_truth_pending", () => owner.Pending,
            description: "Predictions waiting for their label in the shared state (at the last sweep).");

        public ObservableGauge<int> EarlyWaiting { get; } = meter.CreateObservableGauge(
            "ml_ground_truth_early_waiting",
            () => (Measurement<int>[])[new(owner.Early.Labels, EarlyLabelTags), new(owner.Early.Outcomes, EarlyOutcomeTags)],
            description: "Labels and outcomes accepted before their prediction was found, waiting for it (Monitoring:GroundTruth:EarlyLabelGrace).");
    }

    private static readonly Tag[] EarlyLabelTags = [new("kind", "label")];
    private static readonly Tag[] EarlyOutcomeTags = [new("kind", "outcome")];
}

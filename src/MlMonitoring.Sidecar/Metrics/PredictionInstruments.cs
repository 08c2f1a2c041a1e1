using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Metrics;

/// <summary>
/// The model metrics of the seed document, created once from <see cref="IMeterFactory"/>. Names are the exported
/// Prometheus names; bucket boundaries are given as advice so that no view is needed to get them.
/// </summary>
internal sealed class PredictionInstruments
{
    private readonly Dictionary<string, Histogram<double>> _valuesByModel = new(StringComparer.Ordinal);

    /// <summary>The seed's confidence buckets.</summary>
    public static readonly double[] ConfidenceBuckets = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99];

    public PredictionInstruments(IMeterFactory meterFactory, IOptions<RegressionBucketOptions> options, ModelVersionRegistry registry, LatencyBoundaries latency, TimeProvider time)
    {
        var meter = meterFactory.Create(MeterNames.Predictions);
        // The counters every event increments are read from per-series counts when metrics are collected: an
        // increment costs a few nanoseconds, a measurement through the SDK a lookup of its tags every time.
        meter.CreateObservableCounter(
            "ml_prediction_requests",
            () => Counted(registry.All, m => Volatile.Read(ref m.RequestCount), m => m.Tags),
            description: "Prediction requests, errors included.");
        Latency = meter.CreateHistogram(
            "ml_prediction_latency", unit: "s", description: "Prediction latency measured by the model server.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = latency.Values });
        Errors = meter.CreateCounter<long>(
            "ml_prediction_errors", description: "Failed predictions by error type and kind.");
        Confidence = meter.CreateHistogram(
            "ml_prediction_confidence", description: "Top-class confidence of successful classifications.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = ConfidenceBuckets });
        meter.CreateObservableCounter(
            "ml_prediction_class",
            () => Counted(registry.All.SelectMany(m => m.Classes), c => Volatile.Read(ref c.PredictionCount), c => c.Tags),
            description: "Predictions by predicted class.");
        Values = meter.CreateHistogram(
            "ml_prediction_value", description: "Regression outputs.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = options.Value.EffectiveRegressionBuckets });
        foreach (var (model, settings) in options.Value.Models)
        {
            if (settings.RegressionBuckets is { } buckets)
            {
                _valuesByModel[model] = meterFactory.Create(MeterNames.RegressionPrefix + model).CreateHistogram(
                    "ml_prediction_value", description: "Regression outputs.",
                    advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = buckets });
            }
        }

        FeatureMissing = meter.CreateCounter<long>(
            "ml_feature_missing", description: "Feature values that were NaN (missing).");
        meter.CreateObservableCounter(
            "ml_feature_category",
            () => Counted(registry.All.SelectMany(m => m.Features).SelectMany(f => f.Categories), c => Volatile.Read(ref c.Count), c => c.Tags),
            description: "Values of categorical features by category.");
        meter.CreateObservableGauge(
            "ml_feature_value", () => FeatureValueObserver.Observe(registry, time.GetUtcNow()),
            description: "Feature statistics over the rolling window Monitoring:FeatureWindow.");
        // What ml_feature_value's mean and std come from, as sums: added across replicas they give the fleet's.
        meter.CreateObservableGauge(
            "ml_feature_window_values", () => FeatureValueObserver.ObserveMoment(registry, time.GetUtcNow(), m => m.Count),
            description: "Numeric feature values inside the rolling window Monitoring:FeatureWindow.");
        meter.CreateObservableGauge(
            "ml_feature_window_sum_of_values", () => FeatureValueObserver.ObserveMoment(registry, time.GetUtcNow(), m => m.Sum),
            description: "Sum of the numeric feature values inside the rolling window Monitoring:FeatureWindow.");
        meter.CreateObservableGauge(
            "ml_feature_window_sum_of_squares", () => FeatureValueObserver.ObserveMoment(registry, time.GetUtcNow(), m => m.SumOfSquares),
            description: "Sum of the squares of the numeric feature values inside the rolling window Monitoring:FeatureWindow.");
    }

    public Histogram<double> Latency { get; }

    public Counter<long> Errors { get; }

    public Histogram<double> Confidence { get; }

    public Histogram<double> Values { get; }

    /// <summary>The <c>ml_prediction_value</c> histogram of a model: its own buckets where configured.</summary>
    public Histogram<double> ValuesFor(string modelName) =>
        _valuesByModel.TryGetValue(modelName, out var histogram) ? histogram : Values;

    public Counter<long> FeatureMissing { get; }

    /// <summary>The counts of series that have counted something: a series appears then, as it would with a counter.</summary>
    private static IEnumerable<Measurement<long>> Counted<TSeries>(
        IEnumerable<TSeries> series, Func<TSeries, long> count, Func<TSeries, KeyValuePair<string, object?>[]> tags)
    {
        foreach (var item in series)
        {
            var value = count(item);
            if (value > 0)
            {
                yield return new(value, tags(item));
            }
        }
    }
}

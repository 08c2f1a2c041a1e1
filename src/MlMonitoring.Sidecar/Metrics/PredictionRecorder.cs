using MlMonitoring.Sidecar.Core;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Metrics;

/// <summary>
/// Records one validated event into the instruments. This is the per-event path: tag sets come from the cached
/// <see cref="ModelVersionState"/>, so recording does not build or sort tags.
/// </summary>
internal sealed class PredictionRecorder(PredictionInstruments instruments, ModelVersionRegistry registry)
{
    /// <summary>
    /// Records an event that passed validation, received at <paramref name="now"/>; returns the series it was
    /// counted in. The clock is read once per call or batch: the events of a batch arrive together.
    /// </summary>
    public RecordedPrediction Record(IncomingPrediction e, DateTimeOffset now)
    {
        var model = registry.Get(e.ModelName, e.ModelVersion);
        Interlocked.Increment(ref model.RequestCount);
        // The seed times inside a finally: failed predictions have a latency too.
        instruments.Latency.Record(e.LatencySeconds, model.Tags);
        var nowMs = now.ToUnixTimeMilliseconds();
        model.Traffic.Record(e.LatencySeconds, e.ResultCase == PredictionEvent.ResultOneofCase.Error, nowMs);

        var features = EventFeatures.ForCurrentThread();
        ClassSeries? predicted = null;
        var confidence = double.NaN;
        switch (e.ResultCase)
        {
            case PredictionEvent.ResultOneofCase.Classification:
                (predicted, confidence) = RecordClassification(model, e);
                break;
            case PredictionEvent.ResultOneofCase.Regression:
                model.ValueHistogram ??= instruments.ValuesFor(model.ModelName);
                model.ValueHistogram.Record(e.PredictedValue, model.Tags);
                break;
            case PredictionEvent.ResultOneofCase.Error:
                var errorType = e.ErrorType.Length == 0 ? LabelNames.UnknownErrorType : e.ErrorType;
                instruments.Errors.Add(1, model.GetErrorTags(errorType, e.ErrorKind));
                break;
        }

        if (e.Features.Count > 0)
        {
            RecordFeatures(model, e, features, now);
        }

        if (e.CategoricalFeatures.Count > 0)
        {
            foreach (var (name, category) in e.CategoricalFeatures.Entries)
            {
                if (model.GetFeature(name) is { } feature)
                {
                    Interlocked.Increment(ref feature.GetCategory(category).Count);
                    features.AddCategorical(feature, category);
                }
            }
        }

        return new RecordedPrediction(model, predicted, confidence, features, nowMs);
    }

    private (ClassSeries Class, double Confidence) RecordClassification(ModelVersionState model, IncomingPrediction classification)
    {
        var predictedClass = classification.PredictedClass;
        double? confidence = classification.HasConfidence ? classification.Confidence : null;
        if (classification.ClassScores.Count > 0 && (predictedClass.Length == 0 || confidence is null))
        {
            var (topClass, topScore) = TopClass(classification);
            if (predictedClass.Length == 0)
            {
                predictedClass = topClass;
            }

            confidence ??= topScore;
        }

        var series = model.GetClass(predictedClass);
        Interlocked.Increment(ref series.PredictionCount);
        if (confidence is { } value)
        {
            instruments.Confidence.Record(value, series.Tags);
        }

        return (series, confidence ?? double.NaN);
    }

    private void RecordFeatures(ModelVersionState model, IncomingPrediction e, EventFeatures features, DateTimeOffset now)
    {
        foreach (var (name, value) in e.Features.Entries)
        {
            if (model.GetFeature(name) is not { } feature)
            {
                continue;
            }

            if (double.IsNaN(value))
            {
                instruments.FeatureMissing.Add(1, feature.Tags);
            }
            else
            {
                features.AddNumeric(feature, value);
            }
        }

        var numeric = features.Numeric;
        var values = features.Values;
        if (numeric.Length > 0)
        {
            lock (model.FeatureGate)
            {
                for (var i = 0; i < numeric.Length; i++)
                {
                    numeric[i].Statistics.AddLocked(values[i], now);
                }
            }
        }
    }

    /// <summary>The class with the highest score; ties go to the first in ordinal order, so the choice is stable.</summary>
    private static (string Class, double Score) TopClass(IncomingPrediction classification)
    {
        string best = string.Empty;
        var bestScore = double.NegativeInfinity;
        foreach (var (name, score) in classification.ClassScores.Entries)
        {
            if (score > bestScore || (score == bestScore && string.CompareOrdinal(name, best) < 0))
            {
                best = name;
                bestScore = score;
            }
        }

        return (best, bestScore);
    }
}

/// <summary>
/// Where an event was counted, handed to the stages after recording (join, drift) for the event in hand only: a
/// ref struct, so the compiler refuses any stage that tries to keep it in a field, a collection or across an await.
/// </summary>
internal readonly ref struct RecordedPrediction(ModelVersionState model, ClassSeries? predictedClass, double confidence, EventFeatures features, long receivedMs)
{
    /// <summary>The series of its model version.</summary>
    public ModelVersionState Model { get; } = model;

    /// <summary>The series of its predicted class; null unless it was a classification.</summary>
    public ClassSeries? Class { get; } = predictedClass;

    /// <summary>The top-class confidence recorded; NaN when none.</summary>
    public double Confidence { get; } = confidence;

    /// <summary>Its profiled features (numeric ones without missing values), a per-thread buffer refilled by the next event.</summary>
    public EventFeatures Features { get; } = features;

    /// <summary>When the sidecar recorded it, in Unix milliseconds.</summary>
    public long ReceivedMs { get; } = receivedMs;
}

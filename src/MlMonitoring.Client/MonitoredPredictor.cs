using System.Diagnostics;

namespace MlMonitoring.Client;

/// <summary>What a prediction produced, as the sidecar records it.</summary>
/// <param name="PredictedClass">The predicted class of a classifier.</param>
/// <param name="Confidence">Its top-class probability, if the model gives one.</param>
/// <param name="PredictedValue">The output of a regressor.</param>
public readonly record struct PredictionResult(string? PredictedClass, double? Confidence, double? PredictedValue)
{
    public static PredictionResult Class(string predictedClass, double? confidence = null) => new(predictedClass, confidence, null);

    public static PredictionResult Value(double predictedValue) => new(null, null, predictedValue);
}

/// <summary>
/// Wraps a model's predict call, as the "ML Monitoring" guide's MonitoredPredictor does: times it, records its
/// result and confidence, and on an exception records the exception's type name and rethrows.
/// </summary>
public sealed class MonitoredPredictor(MonitoringClient client, string modelName, string modelVersion)
{
    /// <summary>Runs <paramref name="predict"/> and records what <paramref name="describe"/> says of its result.</summary>
    public TResult Predict<TResult>(
        Func<TResult> predict, Func<TResult, PredictionResult> describe, string? predictionId = null, IReadOnlyDictionary<string, double>? features = null)
    {
        ArgumentNullException.ThrowIfNull(predict);
        ArgumentNullException.ThrowIfNull(describe);
        var start = Stopwatch.GetTimestamp();
        TResult result;
        try
        {
            result = predict();
        }
        catch (Exception e)
        {
            client.RecordError(modelName, modelVersion, Stopwatch.GetElapsedTime(start).TotalSeconds, e.GetType().Name);
            throw;
        }

        Record(describe(result), Stopwatch.GetElapsedTime(start).TotalSeconds, predictionId, features);
        return result;
    }

    /// <summary>The asynchronous form of <see cref="Predict{TResult}"/>.</summary>
    public async Task<TResult> PredictAsync<TResult>(
        Func<Task<TResult>> predict, Func<TResult, PredictionResult> describe, string? predictionId = null, IReadOnlyDictionary<string, double>? features = null)
    {
        ArgumentNullException.ThrowIfNull(predict);
        ArgumentNullException.ThrowIfNull(describe);
        var start = Stopwatch.GetTimestamp();
        TResult result;
        try
        {
            result = await predict().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            client.RecordError(modelName, modelVersion, Stopwatch.GetElapsedTime(start).TotalSeconds, e.GetType().Name);
            throw;
        }

        Record(describe(result), Stopwatch.GetElapsedTime(start).TotalSeconds, predictionId, features);
        return result;
    }

    private void Record(PredictionResult outcome, double latency, string? predictionId, IReadOnlyDictionary<string, double>? features)
    {
        if (outcome.PredictedValue is { } value && outcome.PredictedClass is null)
        {
            client.RecordRegression(modelName, modelVersion, latency, value, predictionId, features);
        }
        else
        {
            client.RecordClassification(modelName, modelVersion, latency, outcome.PredictedClass ?? "", outcome.Confidence, predictionId, features);
        }
    }
}

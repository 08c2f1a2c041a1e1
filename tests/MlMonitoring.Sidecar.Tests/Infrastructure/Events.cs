using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Tests.Infrastructure;

/// <summary>Builders of prediction events that read like the sentence they stand for.</summary>
public static class Events
{
    public static PredictionEvent Classified(
        string model, string version, string predictedClass, double? confidence, double latency = 0.03)
    {
        var classification = new Classification { PredictedClass = predictedClass };
        if (confidence is { } value)
        {
            classification.Confidence = value;
        }

        return new PredictionEvent
        {
            ModelName = model,
            ModelVersion = version,
            LatencySeconds = latency,
            Classification = classification,
        };
    }

    public static PredictionEvent Failed(
        string model, string version, string errorType, ErrorKind kind = ErrorKind.Server, double latency = 0.2) => new()
    {
        ModelName = model,
        ModelVersion = version,
        LatencySeconds = latency,
        Error = new PredictionError { ErrorType = errorType, Kind = kind },
    };

    public static PredictionEvent Regressed(string model, string version, double value, double latency = 0.01) => new()
    {
        ModelName = model,
        ModelVersion = version,
        LatencySeconds = latency,
        Regression = new Regression { PredictedValue = value },
    };

    public static PredictionBatch Batch(params PredictionEvent[] events)
    {
        var batch = new PredictionBatch();
        batch.Events.AddRange(events);
        return batch;
    }
}

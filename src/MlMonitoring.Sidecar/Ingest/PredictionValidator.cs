using MlMonitoring.Sidecar.Core;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Ingest;

/// <summary>
/// Decides whether an event may be recorded. A refusal names the field at fault (<see cref="Violation.Field"/>,
/// also the <c>reason</c> label of <c>ml_sidecar_events_rejected_total</c>) and says what is wrong with it.
/// </summary>
/// <remarks>
/// NaN feature values are not violations: a missing value is a data-quality signal that is counted, and the
/// prediction around it is still worth recording.
/// </remarks>
internal sealed class PredictionValidator(CardinalityLimits limits)
{
    /// <summary>Returns null when the event can be recorded, otherwise the first violation found.</summary>
    public Violation? Validate(IncomingPrediction e)
    {
        if (e.ModelName.Length == 0)
        {
            return new("model_name", "model_name: required");
        }

        if (e.ModelName.Length > ContractLimits.MaxModelNameLength)
        {
            return new("model_name", $"model_name: longer than {ContractLimits.MaxModelNameLength} characters ({e.ModelName.Length})");
        }

        if (TooLong(e.ModelVersion))
        {
            return new("model_version", $"model_version: longer than {limits.MaxNameLength} characters ({e.ModelVersion.Length})");
        }

        if (e.PredictionId.Length > ContractLimits.MaxPredictionIdLength)
        {
            return new("prediction_id", $"prediction_id: longer than {ContractLimits.MaxPredictionIdLength} characters ({e.PredictionId.Length})");
        }

        if (!double.IsFinite(e.LatencySeconds) || e.LatencySeconds < 0)
        {
            return new("latency_seconds", $"latency_seconds: must be finite and >= 0, got {e.LatencySeconds}");
        }

        if (e.HasTime && !ContractLimits.IsValidTimestamp(e.TimeSeconds, e.TimeNanos))
        {
            return new("time", "time: not a valid timestamp");
        }

        var violation = e.ResultCase switch
        {
            PredictionEvent.ResultOneofCase.Classification => ValidateClassification(e),
            PredictionEvent.ResultOneofCase.Regression when !double.IsFinite(e.PredictedValue) =>
                new("regression.predicted_value", $"regression.predicted_value: must be finite, got {e.PredictedValue}"),
            PredictionEvent.ResultOneofCase.Error => ValidateError(e),
            _ => null,
        };

        return violation ?? ValidateFeatures(e.Features) ?? ValidateCategoricalFeatures(e.CategoricalFeatures);
    }

    private Violation? ValidateClassification(IncomingPrediction c)
    {
        if (c.PredictedClass.Length == 0 && c.ClassScores.Count == 0)
        {
            return new("classification.predicted_class", "classification.predicted_class: required when class_scores is empty");
        }

        if (TooLong(c.PredictedClass))
        {
            return new("classification.predicted_class", $"classification.predicted_class: longer than {limits.MaxNameLength} characters ({c.PredictedClass.Length})");
        }

        if (c.HasConfidence && !IsProbability(c.Confidence))
        {
            return new("classification.confidence", $"classification.confidence: must be within [0, 1], got {c.Confidence}");
        }

        if (c.ClassScores.Count > limits.MaxMapEntries)
        {
            return new("classification.class_scores", $"classification.class_scores: {c.ClassScores.Count} entries, more than {limits.MaxMapEntries}");
        }

        foreach (var (name, score) in c.ClassScores.Entries)
        {
            if (name.Length == 0 || TooLong(name))
            {
                return new("classification.class_scores", $"classification.class_scores: a class name must have 1 to {limits.MaxNameLength} characters");
            }

            if (!IsProbability(score))
            {
                return new("classification.class_scores", $"classification.class_scores[\"{name}\"]: must be within [0, 1], got {score}");
            }
        }

        return null;
    }

    private Violation? ValidateError(IncomingPrediction error)
    {
        if (TooLong(error.ErrorType))
        {
            return new("error.error_type", $"error.error_type: longer than {limits.MaxNameLength} characters ({error.ErrorType.Length})");
        }

        if (!Enum.IsDefined(error.ErrorKind))
        {
            return new("error.kind", $"error.kind: unknown value {(int)error.ErrorKind}");
        }

        return null;
    }

    private Violation? ValidateFeatures(NamedValues<double> features)
    {
        if (features.Count > limits.MaxMapEntries)
        {
            return new("features", $"features: {features.Count} entries, more than {limits.MaxMapEntries}");
        }

        foreach (var (name, value) in features.Entries)
        {
            if (name.Length == 0 || TooLong(name))
            {
                return new("features", $"features: a feature name must have 1 to {limits.MaxNameLength} characters");
            }

            if (double.IsInfinity(value))
            {
                return new("features", $"features[\"{name}\"]: must be finite (NaN marks a missing value), got {value}");
            }
        }

        return null;
    }

    private Violation? ValidateCategoricalFeatures(NamedValues<string> features)
    {
        if (features.Count > limits.MaxMapEntries)
        {
            return new("categorical_features", $"categorical_features: {features.Count} entries, more than {limits.MaxMapEntries}");
        }

        foreach (var (name, category) in features.Entries)
        {
            if (name.Length == 0 || TooLong(name))
            {
                return new("categorical_features", $"categorical_features: a feature name must have 1 to {limits.MaxNameLength} characters");
            }

            if (TooLong(category))
            {
                return new("categorical_features", $"categorical_features[\"{name}\"]: longer than {limits.MaxNameLength} characters ({category.Length})");
            }
        }

        return null;
    }

    private bool TooLong(string value) => value.Length > limits.MaxNameLength;

    private static bool IsProbability(double value) => value is >= 0 and <= 1;
}

/// <summary>Why an event was refused: the field at fault and a sentence for the client.</summary>
internal sealed record Violation(string Field, string Reason);

using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Core;

/// <summary>
/// One <see cref="PredictionEvent"/> as the way in reads it (the gRPC wire reader today): the same fields, held in
/// an object that is reused for event after event, so that ingesting allocates nothing per event but the
/// prediction id. It belongs to the batch it was read into and is valid only while that batch is leased; a later
/// stage that keeps anything of it copies it (names are interned strings and may be kept).
/// </summary>
internal sealed class IncomingPrediction
{
    public string PredictionId { get; set; } = string.Empty;

    public string ModelName { get; set; } = string.Empty;

    public string ModelVersion { get; set; } = string.Empty;

    /// <summary>Whether <c>time</c> was sent; unset means the time of receipt.</summary>
    public bool HasTime { get; set; }

    public long TimeSeconds { get; set; }

    public int TimeNanos { get; set; }

    public double LatencySeconds { get; set; }

    /// <summary>Which member of the <c>result</c> oneof was sent last.</summary>
    public PredictionEvent.ResultOneofCase ResultCase { get; set; }

    public string PredictedClass { get; set; } = string.Empty;

    public bool HasConfidence { get; set; }

    public double Confidence { get; set; }

    public NamedValues<double> ClassScores { get; } = new();

    public double PredictedValue { get; set; }

    public string ErrorType { get; set; } = string.Empty;

    public ErrorKind ErrorKind { get; set; }

    public NamedValues<double> Features { get; } = new();

    public NamedValues<string> CategoricalFeatures { get; } = new();

    /// <summary>The time the model server stamped, in Unix milliseconds; only meaningful with <see cref="HasTime"/>.</summary>
    public long TimeUnixMilliseconds => (TimeSeconds * 1000) + (TimeNanos / 1_000_000);

    /// <summary>Empties every field, as a fresh message would be.</summary>
    public void Reset()
    {
        PredictionId = string.Empty;
        ModelName = string.Empty;
        ModelVersion = string.Empty;
        HasTime = false;
        TimeSeconds = 0;
        TimeNanos = 0;
        LatencySeconds = 0;
        ResultCase = PredictionEvent.ResultOneofCase.None;
        ResetResult();
        Features.Clear();
        CategoricalFeatures.Clear();
    }

    /// <summary>Clears the members of the oneof, for when another member is sent.</summary>
    public void ResetResult()
    {
        PredictedClass = string.Empty;
        HasConfidence = false;
        Confidence = 0;
        ClassScores.Clear();
        PredictedValue = 0;
        ErrorType = string.Empty;
        ErrorKind = ErrorKind.Unspecified;
    }
}

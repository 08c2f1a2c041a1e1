namespace MlMonitoring.Client;

/// <summary>What a Record… call queues: a value type, so queuing allocates nothing.</summary>
internal readonly record struct PredictionRecord(
    RecordKind Kind,
    string ModelName,
    string ModelVersion,
    double LatencySeconds,
    string? Text,
    double Number,
    double Confidence,
    string? PredictionId,
    IReadOnlyDictionary<string, double>? Features,
    IReadOnlyDictionary<string, string>? CategoricalFeatures,
    V1.ErrorKind ErrorKind = V1.ErrorKind.Unspecified);

internal enum RecordKind : byte
{
    Classification,
    Regression,
    Error,
}

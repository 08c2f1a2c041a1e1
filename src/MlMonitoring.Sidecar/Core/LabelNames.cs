namespace MlMonitoring.Sidecar.Core;

/// <summary>Label names and reserved label values shared by every exported series.</summary>
internal static class LabelNames
{
    public const string ModelName = "model_name";
    public const string ModelVersion = "model_version";
    public const string PredictedClass = "predicted_class";

    public const string ActualClass = "actual_class";
    public const string ErrorType = "error_type";
    public const string ErrorKind = "error_kind";
    public const string FeatureName = "feature_name";
    public const string Statistic = "statistic";
    public const string Category = "category";

    /// <summary>Where values past a cardinality limit are folded.</summary>
    public const string Overflow = "__other__";

    /// <summary>The version of an event that names none.</summary>
    public const string UnknownVersion = "unknown";

    /// <summary>The error type of an error event that names none.</summary>
    public const string UnknownErrorType = "unknown";
}

namespace MlMonitoring.Sidecar.Core;

/// <summary>The meters the sidecar's instruments belong to; the exporters subscribe to exactly these.</summary>
internal static class MeterNames
{
    /// <summary>The meter every model metric belongs to.</summary>
    public const string Predictions = "MlMonitoring.Sidecar.Predictions";

    /// <summary>
    /// Meters of <c>ml_prediction_value</c> for models with buckets of their own: one meter per model, since an
    /// instrument has one set of boundaries. The Prometheus exporter merges same-named metrics of several meters
    /// into one family, told apart by <c>otel_scope_name</c>.
    /// </summary>
    public const string RegressionPrefix = "MlMonitoring.Sidecar.Predictions.Regression.";

    /// <summary>LLM serving metrics on the OpenTelemetry GenAI conventions, from the tap.</summary>
    public const string GenAi = "MlMonitoring.Sidecar.GenAi";

    /// <summary>The sidecar's own metrics (<c>ml_sidecar_*</c>).</summary>
    public const string Sidecar = "MlMonitoring.Sidecar";
}

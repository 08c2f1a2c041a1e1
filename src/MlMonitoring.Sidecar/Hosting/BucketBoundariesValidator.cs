using Microsoft.Extensions.Options;

namespace MlMonitoring.Sidecar.Hosting;

/// <summary>Histogram boundaries must be finite and strictly increasing, or the exported buckets are nonsense.</summary>
internal sealed class BucketBoundariesValidator : IValidateOptions<MonitoringOptions>
{
    public ValidateOptionsResult Validate(string? name, MonitoringOptions options)
    {
        var buckets = options.RegressionBuckets;
        for (var i = 0; i < buckets.Length; i++)
        {
            if (!double.IsFinite(buckets[i]) || (i > 0 && buckets[i] <= buckets[i - 1]))
            {
                return ValidateOptionsResult.Fail(
                    $"{MonitoringOptions.SectionName}:{nameof(MonitoringOptions.RegressionBuckets)}: boundaries must be finite and strictly increasing ({string.Join(", ", buckets)})");
            }
        }

        return ValidateOptionsResult.Success;
    }
}

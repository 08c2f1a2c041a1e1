using Microsoft.Extensions.Options;

namespace MlMonitoring.Sidecar.Metrics;

/// <summary>Histogram boundaries must be finite and strictly increasing, or the exported buckets are nonsense.</summary>
internal sealed class BucketBoundariesValidator : IValidateOptions<RegressionBucketOptions>
{
    public ValidateOptionsResult Validate(string? name, RegressionBucketOptions options)
    {
        var failures = new List<string>();
        Check($"{RegressionBucketOptions.SectionName}:{nameof(RegressionBucketOptions.RegressionBuckets)}", options.EffectiveRegressionBuckets, failures);
        foreach (var (model, settings) in options.Models)
        {
            if (settings.RegressionBuckets is { } buckets)
            {
                Check($"{RegressionBucketOptions.SectionName}:{nameof(RegressionBucketOptions.Models)}:{model}:{nameof(ModelSettings.RegressionBuckets)}", buckets, failures);
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Check(string setting, IReadOnlyList<double> buckets, List<string> failures)
    {
        if (buckets.Count == 0)
        {
            failures.Add($"{setting}: at least one boundary is needed");
            return;
        }

        for (var i = 0; i < buckets.Count; i++)
        {
            if (!double.IsFinite(buckets[i]) || (i > 0 && buckets[i] <= buckets[i - 1]))
            {
                failures.Add($"{setting}: boundaries must be finite and strictly increasing ({string.Join(", ", buckets)})");
                return;
            }
        }
    }
}

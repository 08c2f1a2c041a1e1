using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Canary;

/// <summary>
/// Settings under <c>Monitoring:Canary</c>, set on a candidate version's pods: the stable version it is judged
/// against and how much worse than it the candidate may be. Exported as <c>ml_canary_info</c> and
/// <c>ml_canary_margin</c>, from which Prometheus computes the verdict (<c>ml-canary.yaml</c>).
/// </summary>
public sealed class CanaryOptions
{
    /// <summary>The configuration section these settings are bound from.</summary>
    public const string SectionName = "Monitoring:Canary";

    /// <summary>The stable version; every other version this sidecar sees is a candidate judged against it. Unset: no verdict.</summary>
    public string? StableVersion { get; set; }

    /// <summary>How much lower than the stable version's the candidate's accuracy may be and still pass. Default 0.02.</summary>
    [Range(0.0, 1.0)]
    public double AccuracyMargin { get; set; } = 0.02;

    /// <summary>How much higher than the stable version's the candidate's error rate may be and still pass. Default 0.005.</summary>
    [Range(0.0, 1.0)]
    public double ErrorRateMargin { get; set; } = 0.005;

    /// <summary>
    /// How much higher than the stable version's the candidate's share of predictions slower than the guide's 500 ms
    /// p99 objective may be and still pass. Default 0.01.
    /// </summary>
    [Range(0.0, 1.0)]
    public double SlowShareMargin { get; set; } = 0.01;
}

[OptionsValidator]
internal sealed partial class CanaryOptionsValidator : IValidateOptions<CanaryOptions>;

using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.SharedState;

namespace MlMonitoring.Sidecar.GroundTruth;

/// <summary>Settings under <c>Monitoring:GroundTruth</c>.</summary>
public sealed class GroundTruthOptions
{
    /// <summary>The configuration section these settings are bound from.</summary>
    public const string SectionName = "Monitoring:GroundTruth";

    /// <summary>How long a prediction waits for its label. Default 7 days.</summary>
    [TimeSpanRange("00:00:01", "365.00:00:00")]
    public TimeSpan Ttl { get; set; } = PendingPredictionLimits.DefaultTtl;

    /// <summary>Most predictions waiting at once; past it the oldest is evicted and counted.</summary>
    [Range(1, 100_000_000)]
    public int MaxPending { get; set; } = PendingPredictionLimits.DefaultMaxPending;

    /// <summary>Rolling window of the quality gauges (accuracy, F1, MAE…), by prediction time. Default 7 days.</summary>
    [TimeSpanRange("00:00:01", "365.00:00:00")]
    public TimeSpan Window { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// How long a label or outcome that arrives before its prediction waits for it. Clients batch predictions and
    /// send follow-ups at once, replicas write to a shared store through a queue, and a store that restarted is
    /// written again as replicas reconnect: the prediction is often a moment behind. Past the grace the label is
    /// counted unknown (the outcome falls back to its model name, or unattributed). Zero: counted at once. Default 10 s.
    /// </summary>
    [TimeSpanRange("00:00:00", "01:00:00")]
    public TimeSpan EarlyLabelGrace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Most labels and outcomes waiting for their prediction at once; past it a label is refused, to be sent again.
    /// </summary>
    [Range(1, 10_000_000)]
    public int MaxEarlyLabels { get; set; } = 100_000;

    /// <summary>
    /// Longest a label or outcome call waits for the shared store (its write queue, then each claim) before the
    /// items not yet answered are refused as retryable. Keep it below the clients' deadlines. Default 1 s.
    /// </summary>
    [TimeSpanRange("00:00:00.010", "00:01:00")]
    public TimeSpan StoreTimeout { get; set; } = TimeSpan.FromSeconds(1);
}

[OptionsValidator]
internal sealed partial class GroundTruthOptionsValidator : IValidateOptions<GroundTruthOptions>;

using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Drift;

/// <summary>Settings under <c>Monitoring:Drift</c>.</summary>
public sealed class DriftOptions
{
    /// <summary>The configuration section these settings are bound from.</summary>
    public const string SectionName = "Monitoring:Drift";

    /// <summary>Drift, estimated accuracy and their per-event work; on by default.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The first this many events of a model version are its baseline.</summary>
    [Range(10, 10_000_000)]
    public int BaselineSize { get; set; } = 10_000;

    /// <summary>The current window compared with the baseline. Default 1 hour.</summary>
    [TimeSpanRange("00:00:01", "30.00:00:00")]
    public TimeSpan Window { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Bins of numeric signals (confidence, numeric features), at the baseline's quantiles.</summary>
    [Range(2, 100)]
    public int Bins { get; set; } = 10;

    /// <summary>Categories of a categorical feature compared one by one; the rest share an "other" bin.</summary>
    [Range(1, 1000)]
    public int MaxCategories { get; set; } = 20;

    /// <summary>
    /// The chance, at one evaluation of the drift alerts, that a model version which has not drifted has any signal
    /// above its critical value; shared evenly among the version's signals. Default 0.01.
    /// </summary>
    [Range(1e-6, 0.5)]
    public double FalseAlarmRate { get; set; } = 0.01;

    /// <summary>
    /// Changing it discards every persisted baseline at the next start: a deliberate re-pin of all models.
    /// </summary>
    [Required]
    public string BaselineGeneration { get; set; } = "1";

    /// <summary>
    /// How often a replica reads the shared baselines: one published by another replica, or a pin, is adopted
    /// within this interval. Default 10 s.
    /// </summary>
    [TimeSpanRange("00:00:00.100", "01:00:00")]
    public TimeSpan SyncInterval { get; set; } = TimeSpan.FromSeconds(10);
}

[OptionsValidator]
internal sealed partial class DriftOptionsValidator : IValidateOptions<DriftOptions>;

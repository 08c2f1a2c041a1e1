using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Handover;

/// <summary>Settings under <c>Monitoring:Handover</c>.</summary>
public sealed class HandoverOptions
{
    /// <summary>The configuration section these settings are bound from.</summary>
    public const string SectionName = "Monitoring:Handover";

    /// <summary>
    /// How long windows handed over by a stopping replica wait before a replica that stays adopts them. At least
    /// Prometheus' scrape interval: by then the stopped replica's series are stale, so no count is in two series
    /// at once. Meanwhile the fleet figures lack them. Default 30 s (twice a 15 s scrape interval).
    /// </summary>
    [TimeSpanRange("00:00:00", "01:00:00")]
    public TimeSpan AdoptAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often a replica looks for handed-over windows to adopt. Default 10 s.</summary>
    [TimeSpanRange("00:00:00.100", "01:00:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a stopping replica waits for the store to take its windows. Default 3 s.</summary>
    [TimeSpanRange("00:00:00.100", "00:01:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(3);
}

[OptionsValidator]
internal sealed partial class HandoverOptionsValidator : IValidateOptions<HandoverOptions>;

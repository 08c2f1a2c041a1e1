using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Hosting;

/// <summary>How the process stops, at the root of the <c>Monitoring</c> section.</summary>
public sealed class HostingOptions
{
    /// <summary>The configuration section these settings are bound from.</summary>
    public const string SectionName = MonitoringOptions.SectionName;

    /// <summary>How long a stopping sidecar waits for in-flight calls before it exits. Default 4 s (a native sidecar gets little time).</summary>
    [TimeSpanRange("00:00:00", "00:01:00")]
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(4);
}

[OptionsValidator]
internal sealed partial class HostingOptionsValidator : IValidateOptions<HostingOptions>;

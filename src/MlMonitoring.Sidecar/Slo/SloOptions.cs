using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Slo;

/// <summary>The SLO file, at the root of the <c>Monitoring</c> section.</summary>
public sealed class SloOptions
{
    /// <summary>The configuration section these settings are bound from.</summary>
    public const string SectionName = MonitoringOptions.SectionName;

    /// <summary>
    /// An SLO file (the guide's slo.yaml format). Its latency targets become latency bucket boundaries, and the
    /// sidecar reports the SLOs' status itself.
    /// </summary>
    public string? SloFile { get; set; }
}

/// <summary>An SLO file that cannot be read or is not valid stops the start, named with its setting.</summary>
internal sealed class SloOptionsValidator : IValidateOptions<SloOptions>
{
    public ValidateOptionsResult Validate(string? name, SloOptions options)
    {
        if (string.IsNullOrEmpty(options.SloFile))
        {
            return ValidateOptionsResult.Success;
        }

        try
        {
            _ = SloDocument.Load(options.SloFile);
            return ValidateOptionsResult.Success;
        }
        catch (Exception e) when (e is FormatException or IOException or YamlDotNet.Core.YamlException or UnauthorizedAccessException)
        {
            return ValidateOptionsResult.Fail($"{SloOptions.SectionName}:{nameof(SloOptions.SloFile)}: {e.Message}");
        }
    }
}

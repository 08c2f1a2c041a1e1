using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Tap;

/// <summary>A tap needs both ends of each listener, addresses that parse, and mappings that say one thing.</summary>
internal sealed class TapMappingValidator : IValidateOptions<TapOptions>
{
    private const string Section = TapOptions.SectionName;

    public ValidateOptionsResult Validate(string? name, TapOptions tap)
    {
        var failures = new List<string>();
        CheckPair(tap.Listen, nameof(TapOptions.Listen), tap.Upstream, nameof(TapOptions.Upstream), failures);
        CheckPair(tap.GrpcListen, nameof(TapOptions.GrpcListen), tap.GrpcUpstream, nameof(TapOptions.GrpcUpstream), failures);
        foreach (var (model, mapping) in tap.Models)
        {
            var setting = $"{Section}:Models:{model}";
            if (mapping.ValueOutput is not null && (mapping.ClassOutput is not null || mapping.ProbabilitiesOutput is not null))
            {
                failures.Add($"{setting}: ValueOutput (regression) cannot be set with ClassOutput or ProbabilitiesOutput (classification)");
            }

            if (mapping.FeatureNames is { } names && names.Distinct(StringComparer.Ordinal).Count() != names.Length)
            {
                failures.Add($"{setting}:FeatureNames: names must be distinct");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void CheckPair(string? listen, string listenName, string? upstream, string upstreamName, List<string> failures)
    {
        if (listen is null && upstream is null)
        {
            return;
        }

        if (listen is null || upstream is null)
        {
            failures.Add($"{Section}:{listenName} and {Section}:{upstreamName} are set together (the tap listens on one and forwards to the other)");
            return;
        }

        if (!Uri.TryCreate(listen, UriKind.Absolute, out var listenUri) || listenUri.Scheme != Uri.UriSchemeHttp || listenUri.Port <= 0)
        {
            failures.Add($"{Section}:{listenName}: an http:// address with a port is needed, like http://0.0.0.0:8080 (got '{listen}')");
        }

        if (!Uri.TryCreate(upstream, UriKind.Absolute, out var upstreamUri) || (upstreamUri.Scheme != Uri.UriSchemeHttp && upstreamUri.Scheme != Uri.UriSchemeHttps))
        {
            failures.Add($"{Section}:{upstreamName}: an http:// or https:// address is needed, like http://127.0.0.1:8000 (got '{upstream}')");
        }
    }

    /// <summary>The port of a listener setting, or 0 when it has none.</summary>
    public static int PortOf(string? listen) =>
        listen is not null && Uri.TryCreate(listen, UriKind.Absolute, out var uri) ? uri.Port : 0;
}

using System.Net;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Security;

/// <summary>
/// The ingest endpoint listens on loopback unless a token protects it: a sidecar reachable from the network without
/// authentication would let anyone write a model's metrics. Checked at start, naming the setting.
/// </summary>
internal sealed class EndpointExposureValidator(IConfiguration configuration) : IValidateOptions<SecurityOptions>
{
    public ValidateOptionsResult Validate(string? name, SecurityOptions options)
    {
        if (!string.IsNullOrEmpty(options.TokenFile))
        {
            if (!File.Exists(options.TokenFile))
            {
                return ValidateOptionsResult.Fail($"Monitoring:Security:TokenFile: {options.TokenFile} does not exist");
            }

            if (File.ReadAllText(options.TokenFile).Trim().Length < 16)
            {
                return ValidateOptionsResult.Fail("Monitoring:Security:TokenFile: the token must have at least 16 characters");
            }

            return ValidateOptionsResult.Success;
        }

        var url = configuration["Kestrel:Endpoints:Grpc:Url"];
        if (url is not null && !IsLoopback(url))
        {
            return ValidateOptionsResult.Fail(
                $"Kestrel:Endpoints:Grpc:Url binds {url}, beyond loopback: set Monitoring:Security:TokenFile so that callers must authenticate");
        }

        return ValidateOptionsResult.Success;
    }

    private static bool IsLoopback(string url)
    {
        if (!Uri.TryCreate(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri))
        {
            return false;
        }

        return uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
    }
}

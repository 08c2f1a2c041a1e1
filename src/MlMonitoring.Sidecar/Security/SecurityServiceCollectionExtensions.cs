using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Security;

/// <summary>Registers the endpoints' protection: a bearer token, required where an endpoint listens beyond loopback.</summary>
internal static class SecurityServiceCollectionExtensions
{
    public static IServiceCollection AddSecurity(this IServiceCollection services)
    {
        services.AddOptions<SecurityOptions>()
            .BindConfiguration(SecurityOptions.SectionName)
            .ValidateWithAllSettings<SecurityOptions, EndpointExposureValidator>(SecurityOptions.SectionName);
        return services;
    }

    /// <summary>Bearer-token authentication when <c>Monitoring:Security:TokenFile</c> is set.</summary>
    public static IApplicationBuilder UseSecurity(this IApplicationBuilder app) => app.UseMiddleware<BearerTokenMiddleware>();
}

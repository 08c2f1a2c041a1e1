using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MlMonitoring.Client;

#pragma warning disable IDE0130 // Registration lives where ASP.NET Core users look for it.
namespace Microsoft.Extensions.DependencyInjection;
#pragma warning restore IDE0130

/// <summary>Registers the monitoring sidecar's client.</summary>
public static class MonitoringClientServiceCollectionExtensions
{
    /// <summary>Adds a singleton <see cref="MonitoringClient"/>, drained when the container is disposed.</summary>
    public static IServiceCollection AddMlMonitoringClient(this IServiceCollection services, Action<MonitoringClientOptions>? configure = null)
    {
        var options = services.AddOptions<MonitoringClientOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddSingleton(sp => new MonitoringClient(sp.GetRequiredService<IOptions<MonitoringClientOptions>>().Value));
        return services;
    }
}

using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Handover;

/// <summary>Registers the handover of a stopping replica's windows to the replicas that stay.</summary>
internal static class HandoverServiceCollectionExtensions
{
    /// <summary>
    /// Hands this replica's windows over through the shared state when it stops, and adopts those of stopped
    /// replicas (<c>Monitoring:Handover</c>).
    /// </summary>
    public static IServiceCollection AddWindowHandover(this IServiceCollection services)
    {
        services.AddOptions<HandoverOptions>()
            .BindConfiguration(HandoverOptions.SectionName)
            .ValidateWithAllSettings<HandoverOptions, HandoverOptionsValidator>(HandoverOptions.SectionName);
        services.AddSingleton<WindowHandover>();
        services.AddHostedService(services => services.GetRequiredService<WindowHandover>());
        return services;
    }
}

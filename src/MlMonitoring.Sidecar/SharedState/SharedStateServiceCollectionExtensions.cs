using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.SharedState;

/// <summary>Registers the store of what replicas share: predictions waiting for their labels and drift baselines.</summary>
internal static class SharedStateServiceCollectionExtensions
{
    /// <summary>The store <c>Monitoring:GroundTruth:Store</c> names, and its health (a readiness check).</summary>
    public static IServiceCollection AddSharedState(this IServiceCollection services)
    {
        services.TryAddSingleton<SharedStateHealth>();
        services.TryAddSingleton<ISharedStateStore>(CreateStore);
        services.AddHealthChecks().AddCheck<SharedStateHealthCheck>("join-store", tags: [Probes.ReadinessTag]);
        return services;
    }

    private static ISharedStateStore CreateStore(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<MonitoringOptions>>().Value.GroundTruth;
        return options.Store switch
        {
            JoinStoreKind.Sqlite => new SqliteSharedStateStore(options, services.GetRequiredService<ModelVersionRegistry>(), services.GetRequiredService<SharedStateHealth>()),
            JoinStoreKind.Redis => new RedisSharedStateStore(options, services.GetRequiredService<ModelVersionRegistry>(), services.GetRequiredService<SharedStateHealth>()),
            _ => new MemorySharedStateStore(options),
        };
    }
}

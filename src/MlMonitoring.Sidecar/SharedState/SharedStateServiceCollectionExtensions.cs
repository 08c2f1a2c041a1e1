using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.SharedState;

/// <summary>
/// Registers the shared state: what the replicas of a model share — predictions waiting for their labels, drift
/// baselines, handed-over windows — in the store <c>Monitoring:SharedState:Store</c> names, with its health.
/// </summary>
internal static class SharedStateServiceCollectionExtensions
{
    /// <summary>The name of the shared state's readiness check, as <c>/readyz</c> shows it.</summary>
    public const string HealthCheckName = "shared-state";

    /// <summary>The store, each of its roles for its one caller, and its readiness check.</summary>
    public static IServiceCollection AddSharedState(this IServiceCollection services)
    {
        services.AddOptions<SharedStateOptions>()
            .BindConfiguration(SharedStateOptions.SectionName)
            .ValidateWithAllSettings<SharedStateOptions, SharedStateOptionsValidator>(SharedStateOptions.SectionName);
        services.AddOptions<PendingPredictionLimits>();
        services.TryAddSingleton<SharedStateHealth>();
        services.TryAddSingleton<ISharedStateStore>(CreateStore);
        // One store; each caller sees only its role of it.
        services.TryAddSingleton<IPendingPredictionStore>(sp => sp.GetRequiredService<ISharedStateStore>());
        services.TryAddSingleton<ISharedBaselineStore>(sp => sp.GetRequiredService<ISharedStateStore>());
        services.TryAddSingleton<IWindowHandoverStore>(sp => sp.GetRequiredService<ISharedStateStore>());
        services.AddHealthChecks().AddCheck<SharedStateHealthCheck>(HealthCheckName, tags: [Probes.ReadinessTag]);
        return services;
    }

    private static ISharedStateStore CreateStore(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<SharedStateOptions>>().Value;
        var limits = services.GetRequiredService<IOptions<PendingPredictionLimits>>().Value;
        return options.Store switch
        {
            SharedStateStoreKind.Sqlite => new SqliteSharedStateStore(options, limits, services.GetRequiredService<ModelVersionRegistry>(), services.GetRequiredService<SharedStateHealth>()),
            SharedStateStoreKind.Redis => new RedisSharedStateStore(options, limits, services.GetRequiredService<ModelVersionRegistry>(), services.GetRequiredService<SharedStateHealth>()),
            _ => new MemorySharedStateStore(limits),
        };
    }
}

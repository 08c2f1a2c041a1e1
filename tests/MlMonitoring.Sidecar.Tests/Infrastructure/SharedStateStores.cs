using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.SharedState;

namespace MlMonitoring.Sidecar.Tests.Infrastructure;

/// <summary>
/// A shared-state store of each kind, against the real part where there is one (a SQLite file, a redis-server),
/// with the registry its predictions resolve against.
/// </summary>
internal sealed class SharedStateStores : IAsyncDisposable
{
    private readonly RedisServer? _redis;

    private SharedStateStores(ISharedStateStore store, ModelVersionRegistry registry, RedisServer? redis)
    {
        Store = store;
        Registry = registry;
        _redis = redis;
    }

    /// <summary>The kinds, for a theory's data; "redis-partitioned" is the redis store with four partitions.</summary>
    public static TheoryData<string> Kinds => ["memory", "sqlite", "redis", "redis-partitioned"];

    public ISharedStateStore Store { get; }

    public ModelVersionRegistry Registry { get; }

    public static async Task<SharedStateStores> CreateAsync(string kind, PendingPredictionLimits? limits = null)
    {
        limits ??= new PendingPredictionLimits();
        var options = new SharedStateOptions();
        var monitoring = Options.Create(new MonitoringOptions());
        var meters = new TestMeterFactory();
        var registry = new ModelVersionRegistry(monitoring, new SidecarMetrics(meters, monitoring));
        var health = new SharedStateHealth(meters, NullLogger<SharedStateHealth>.Instance);
        switch (kind)
        {
            case "sqlite":
                options.SqlitePath = Path.Combine(Directory.CreateTempSubdirectory("mlmon-store-").FullName, "shared.db");
                return new(new SqliteSharedStateStore(options, limits, registry, health), registry, null);
            case "redis" or "redis-partitioned":
                var redis = await RedisServer.StartAsync();
                options.RedisPartitions = kind == "redis" ? 1 : 4;
                options.RedisConfiguration = redis.Configuration;
                return new(new RedisSharedStateStore(options, limits, registry, health), registry, redis);
            default:
                return new(new MemorySharedStateStore(limits), registry, null);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }
}

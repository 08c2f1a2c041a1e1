using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MlMonitoring.Sidecar.SharedState;

/// <summary>
/// Settings under <c>Monitoring:SharedState</c>: the store of what the replicas of a model share — predictions
/// waiting for their labels, drift baselines, and the windows a stopping replica hands over.
/// </summary>
public sealed class SharedStateOptions
{
    /// <summary>The configuration section these settings are bound from.</summary>
    public const string SectionName = "Monitoring:SharedState";

    /// <summary><c>memory</c> (default), <c>sqlite</c> or <c>redis</c>.</summary>
    public SharedStateStoreKind Store { get; set; } = SharedStateStoreKind.Memory;

    /// <summary>The SQLite file of the <c>sqlite</c> store.</summary>
    [Required]
    public string SqlitePath { get; set; } = "/tmp/mlmonitoring-groundtruth.db";

    /// <summary>StackExchange.Redis configuration string of the <c>redis</c> store.</summary>
    [Required]
    public string RedisConfiguration { get; set; } = "127.0.0.1:6379";

    /// <summary>Prefix of every Redis key; replicas of one model share it.</summary>
    [Required]
    public string RedisKeyPrefix { get; set; } = "mlmon:";

    /// <summary>
    /// Partitions of the pending predictions in Redis, each with its own hash tag: against a Redis Cluster they
    /// spread over the masters (a few per master is enough); against one Redis leave it at 1. MaxPending is kept
    /// per partition, a share of it each. Replicas of one model must agree on it; changing it strands what is pending.
    /// </summary>
    [Range(1, 1024)]
    public int RedisPartitions { get; set; } = 1;

    /// <summary>Most pending predictions waiting to be written to an external store before new ones are dropped.</summary>
    [Range(1, 10_000_000)]
    public int WriteQueueCapacity { get; set; } = 100_000;
}

/// <summary>Where the shared state is kept.</summary>
public enum SharedStateStoreKind
{
    /// <summary>In the sidecar's memory: fastest; lost on restart, and seen by this process only.</summary>
    Memory,

    /// <summary>An SQLite file: survives a restart of the sidecar.</summary>
    Sqlite,

    /// <summary>A Redis server (or Cluster) shared by every replica: a label may reach any of them.</summary>
    Redis,
}

/// <summary>
/// How long, and how many, predictions the store keeps waiting for their labels. Not settings of their own: the
/// ground-truth join sets them from <c>Monitoring:GroundTruth:Ttl</c> and <c>MaxPending</c>, since it is the join
/// that decides how long a label may be late.
/// </summary>
internal sealed class PendingPredictionLimits
{
    /// <summary>The default of <see cref="Ttl"/>, and of the setting it comes from.</summary>
    public static readonly TimeSpan DefaultTtl = TimeSpan.FromDays(7);

    /// <summary>The default of <see cref="MaxPending"/>, and of the setting it comes from.</summary>
    public const int DefaultMaxPending = 1_000_000;

    /// <summary>How long a prediction waits for its label.</summary>
    public TimeSpan Ttl { get; set; } = DefaultTtl;

    /// <summary>Most predictions waiting at once; past it the oldest is evicted.</summary>
    public int MaxPending { get; set; } = DefaultMaxPending;
}

[OptionsValidator]
internal sealed partial class SharedStateOptionsValidator : IValidateOptions<SharedStateOptions>;

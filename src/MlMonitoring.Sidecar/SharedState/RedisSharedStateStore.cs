using System.Globalization;
using MlMonitoring.Sidecar.Core;
using StackExchange.Redis;

namespace MlMonitoring.Sidecar.SharedState;

/// <summary>
/// Pending predictions in Redis, shared by every replica of a model: a label may reach any replica and joins
/// exactly once, because the claim is one Lua script that Redis runs atomically.
/// </summary>
/// <remarks>
/// Each prediction is a string <c>{tag}q:id</c> (<see cref="PackedPrediction"/>) living two TTLs (the second as a
/// tombstone), indexed by time in the sorted set <c>{tag}pending</c> while it waits. The tag is a hash tag: the
/// prefix (<c>Monitoring:SharedState:RedisKeyPrefix</c>), and with <c>RedisPartitions</c> above 1 the partition
/// of the id, so that in a Redis Cluster each script's keys are on one node (the cluster routes every replica's
/// commands there, whichever node it connected to) while the partitions spread over the masters. Baselines and
/// handed-over windows sit under the prefix alone. The sweep takes expired and excess members off each index
/// (whichever replica removes one counts it, so sums across replicas are exact) and marks their predictions expired.
/// </remarks>
internal sealed partial class RedisSharedStateStore : ISharedStateStore
{
    private readonly ConnectionMultiplexer _redis;
    private readonly ModelVersionRegistry _registry;
    private readonly SharedStateHealth _health;
    private readonly WriteQueue<(string Id, PendingPrediction Prediction)> _writes;
    private readonly Partition[] _partitions;
    private readonly RedisKey _baselines;
    private readonly RedisKey _baselineEpochs;
    private readonly RedisKey _handedOver;
    private readonly RedisKey _handedOverTimes;
    private readonly long _ttlMs;
    private readonly int _maxPendingPerPartition;
    private int _disposed;

    public RedisSharedStateStore(SharedStateOptions options, PendingPredictionLimits limits, ModelVersionRegistry registry, SharedStateHealth health)
    {
        _registry = registry;
        _health = health;
        _ttlMs = (long)limits.Ttl.TotalMilliseconds;
        var slot = "{" + options.RedisKeyPrefix + "}";
        // One partition is tagged with the prefix alone, like the baselines; more get a hash tag each, spread over a cluster.
        _partitions = options.RedisPartitions == 1
            ? [new Partition(slot)]
            : [.. Enumerable.Range(0, options.RedisPartitions).Select(p => new Partition("{" + options.RedisKeyPrefix + p.ToString(CultureInfo.InvariantCulture) + "}"))];
        _maxPendingPerPartition = (int)Math.Ceiling((double)limits.MaxPending / _partitions.Length);
        _baselines = slot + "baselines";
        _baselineEpochs = slot + "baseline-epochs";
        _handedOver = slot + "handed-over-windows";
        _handedOverTimes = slot + "handed-over-times";
        var configuration = ConfigurationOptions.Parse(options.RedisConfiguration);
        // Start and keep serving while Redis is away; the store reconnects by itself.
        configuration.AbortOnConnectFail = false;
        _redis = ConnectionMultiplexer.Connect(configuration);
        if (!_redis.IsConnected)
        {
            health.ReportUnreachableAtStart(
                $"{SharedStateOptions.SectionName}:{nameof(SharedStateOptions.RedisConfiguration)}", configuration.ToString(includePassword: false), $"no connection within {configuration.ConnectTimeout} ms");
        }

        _writes = new(options.WriteQueueCapacity, WriteBatchAsync, health.ReportWriteFailure);
    }

    /// <summary>Flushes and closes the store; idempotent, since each role the container resolves it as disposes it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _writes.DisposeAsync();
        await _redis.DisposeAsync();
    }

    /// <summary>The keys of one partition of the pending predictions: its hash tag, so one slot in a cluster.</summary>
    /// <param name="Tag">The hash tag, braces included.</param>
    private sealed record Partition(string Tag)
    {
        /// <summary>
        /// Prefix of the predictions' keys: "q:", not the "p:" of the hashes kept before PackedPrediction; those are
        /// not read (a label of a prediction pending at the upgrade joins as unknown) and expire by themselves.
        /// </summary>
        public string PredictionPrefix { get; } = Tag + "q:";

        /// <summary>The sorted set of the partition's pending ids by prediction time.</summary>
        public RedisKey Index { get; } = Tag + "pending";
    }
}

using System.Globalization;
using MlMonitoring.Sidecar.Core;
using StackExchange.Redis;

namespace MlMonitoring.Sidecar.SharedState;

/// <summary>
/// Pending predictions in Redis, shared by every replica of a model: a label may reach any replica and joins
/// exactly once, because the claim is one Lua script that Redis runs atomically.
/// </summary>
/// <remarks>
/// Each prediction is a hash <c>{prefix}p:id</c> living two TTLs (the second as a tombstone), indexed by time in
/// the sorted set <c>{prefix}pending</c> while it waits. The prefix (<c>Monitoring:GroundTruth:RedisKeyPrefix</c>)
/// is a hash tag: every key of the store hashes to one slot, so that in a Redis Cluster each script's keys are on
/// one node (the cluster routes every replica's commands there, whichever node it connected to); the store's keys
/// are not spread over the masters. The sweep takes expired and excess members off the index
/// (whichever replica removes one counts it, so sums across replicas are exact) and marks their hashes expired.
/// </remarks>
internal sealed class RedisSharedStateStore : ISharedStateStore
{
    // KEYS[1] hash, KEYS[2] index; ARGV[1] id, ARGV[2] label is class (1/0), ARGV[3] expire-before ms.
    // Returns {state, model, version, class, value, confidence, time}; state: 0 claimed, 1 duplicate, 2 expired,
    // 3 unknown, 4 mismatch.
    private const string ClaimScript = """
        local p = redis.call('HMGET', KEYS[1], 'm', 'v', 'c', 'x', 'f', 't', 's')
        if not p[1] then return {3} end
        local result = {0, p[1], p[2], p[3] or '', p[4], p[5] or '', p[6]}
        if p[7] == '1' then result[1] = 1 return result end
        if p[7] == '2' then result[1] = 2 return result end
        if tonumber(p[6]) < tonumber(ARGV[3]) then
          redis.call('HSET', KEYS[1], 's', '2')
          redis.call('ZREM', KEYS[2], ARGV[1])
          result[1] = 2
          return result
        end
        if (p[3] and '1' or '0') ~= ARGV[2] then result[1] = 4 return result end
        redis.call('HSET', KEYS[1], 's', '1')
        redis.call('ZREM', KEYS[2], ARGV[1])
        return result
        """;

    // KEYS[1] index; ARGV[1] prefix of hashes, ARGV[2] expire-before ms, ARGV[3] max pending.
    // Returns {expired, evicted, pending}.
    private const string SweepScript = """
        local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2], 'LIMIT', 0, 10000)
        for _, id in ipairs(expired) do
          redis.call('HSET', ARGV[1] .. id, 's', '2')
          redis.call('ZREM', KEYS[1], id)
        end
        local evicted = 0
        local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3])
        if excess > 0 then
          local oldest = redis.call('ZPOPMIN', KEYS[1], math.min(excess, 10000))
          for i = 1, #oldest, 2 do
            redis.call('HSET', ARGV[1] .. oldest[i], 's', '2')
            evicted = evicted + 1
          end
        end
        return {#expired, evicted, redis.call('ZCARD', KEYS[1])}
        """;

    /// <summary>
    /// KEYS: the baselines hash, the hash of their epochs ("epoch:complete"); ARGV: field, epoch, complete (1/0),
    /// data. Writes both when the new record supersedes the stored one (StoredBaseline.Supersedes); returns 1 if
    /// written. A baseline stored before epochs existed counts as epoch 0, complete.
    /// </summary>
    private const string PublishBaselineScript = """
        local stored = redis.call('HGET', KEYS[2], ARGV[1])
        local epoch = tonumber(ARGV[2])
        if stored then
          local storedEpoch, storedComplete = string.match(stored, '^(%d+):(%d)$')
          storedEpoch = tonumber(storedEpoch)
          if not (epoch > storedEpoch or (epoch == storedEpoch and ARGV[3] == '1' and storedComplete == '0')) then
            return 0
          end
        elseif redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 and epoch == 0 then
          return 0
        end
        redis.call('HSET', KEYS[2], ARGV[1], ARGV[2] .. ':' .. ARGV[3])
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
        return 1
        """;

    /// <summary>
    /// KEYS: the hash of handed-over windows, their index by time; ARGV: handed over before (ms), discard before
    /// (ms). Drops the discarded, then takes (reads and deletes) the oldest of the others: nil when none.
    /// </summary>
    private const string TakeHandedOverScript = """
        local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[2])
        for _, id in ipairs(old) do
          redis.call('HDEL', KEYS[1], id)
          redis.call('ZREM', KEYS[2], id)
        end
        local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1], 'LIMIT', 0, 1)
        if #ids == 0 then return false end
        local windows = redis.call('HGET', KEYS[1], ids[1])
        redis.call('HDEL', KEYS[1], ids[1])
        redis.call('ZREM', KEYS[2], ids[1])
        return windows
        """;

    /// <summary>Predictions written by one script.</summary>
    private const int WriteChunk = 500;

    /// <summary>
    /// KEYS[1] index, KEYS[2..] the predictions' hashes; ARGV[1] hash lifetime ms, then per prediction: id, time ms,
    /// field count, fields and values. A repeated id keeps its first prediction, as in the other stores.
    /// </summary>
    private const string RememberScript = """
        local at = 2
        for k = 2, #KEYS do
          local fields = tonumber(ARGV[at + 2])
          if redis.call('EXISTS', KEYS[k]) == 0 then
            redis.call('HSET', KEYS[k], unpack(ARGV, at + 3, at + 2 + fields * 2))
            redis.call('PEXPIRE', KEYS[k], ARGV[1])
            redis.call('ZADD', KEYS[1], ARGV[at + 1], ARGV[at])
          end
          at = at + 3 + fields * 2
        end
        return 1
        """;

    private readonly ConnectionMultiplexer _redis;
    private readonly ModelVersionRegistry _registry;
    private readonly SharedStateHealth _health;
    private readonly WriteQueue<(string Id, PendingPrediction Prediction)> _writes;
    private readonly string _hashPrefix;
    private readonly RedisKey _index;
    private readonly RedisKey _baselines;
    private readonly RedisKey _baselineEpochs;
    private readonly RedisKey _handedOver;
    private readonly RedisKey _handedOverTimes;
    private readonly long _ttlMs;
    private readonly int _maxPending;

    public RedisSharedStateStore(GroundTruthOptions options, ModelVersionRegistry registry, SharedStateHealth health)
    {
        _registry = registry;
        _health = health;
        _ttlMs = (long)options.Ttl.TotalMilliseconds;
        _maxPending = options.MaxPending;
        var slot = "{" + options.RedisKeyPrefix + "}";
        _hashPrefix = slot + "p:";
        _index = slot + "pending";
        _baselines = slot + "baselines";
        _baselineEpochs = slot + "baseline-epochs";
        _handedOver = slot + "handed-over-windows";
        _handedOverTimes = slot + "handed-over-times";
        var configuration = ConfigurationOptions.Parse(options.RedisConfiguration);
        // Start and keep serving while Redis is away; the store reconnects by itself.
        configuration.AbortOnConnectFail = false;
        _redis = ConnectionMultiplexer.Connect(configuration);
        _writes = new(options.WriteQueueCapacity, WriteBatchAsync, health.ReportWriteFailure);
    }

    public void Remember(string predictionId, in PendingPrediction prediction)
    {
        if (!_writes.TryEnqueue((predictionId, prediction)))
        {
            _health.CountDroppedWrite();
        }
    }

    public async ValueTask<Claim> ClaimAsync(string predictionId, bool labelIsClass, DateTimeOffset now, CancellationToken cancellationToken)
    {
        RedisResult result;
        try
        {
            result = await _redis.GetDatabase().ScriptEvaluateAsync(
                ClaimScript,
                [_hashPrefix + predictionId, _index],
                [predictionId, labelIsClass ? "1" : "0", now.ToUnixTimeMilliseconds() - _ttlMs]);
            _health.ReportSuccess();
        }
        catch (RedisException e)
        {
            _health.ReportFailure("claim", e);
            throw;
        }

        var fields = (RedisResult[])result!;
        var outcome = (int)fields[0] switch
        {
            0 => ClaimOutcome.Claimed,
            1 => ClaimOutcome.Duplicate,
            2 => ClaimOutcome.Expired,
            4 => ClaimOutcome.Mismatch,
            _ => ClaimOutcome.Unknown,
        };
        return outcome == ClaimOutcome.Unknown
            ? new Claim(outcome, default)
            : new Claim(outcome, Hydrate((string)fields[1]!, (string)fields[2]!, (string)fields[3]!, (string)fields[4]!, (string)fields[5]!, (string)fields[6]!));
    }

    public async ValueTask<PendingPrediction?> FindAsync(string predictionId, CancellationToken cancellationToken)
    {
        RedisValue[] fields;
        try
        {
            fields = await _redis.GetDatabase().HashGetAsync(_hashPrefix + predictionId, ["m", "v", "c", "x", "f", "t"]);
            _health.ReportSuccess();
        }
        catch (RedisException e)
        {
            _health.ReportFailure("find", e);
            throw;
        }

        return fields[0].IsNull ? null : Hydrate(fields[0]!, fields[1]!, fields[2].IsNull ? "" : (string)fields[2]!, fields[3]!, fields[4].IsNull ? "" : (string)fields[4]!, fields[5]!);
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken) => _writes.FlushAsync(cancellationToken);

    public async ValueTask<bool> PublishBaselineAsync(StoredBaseline baseline, CancellationToken cancellationToken)
    {
        var written = await _redis.GetDatabase().ScriptEvaluateAsync(
            PublishBaselineScript,
            [_baselines, _baselineEpochs],
            [BaselineField(baseline.ModelName, baseline.ModelVersion), baseline.Epoch, baseline.Complete ? "1" : "0", baseline.Data]);
        return (int)written == 1;
    }

    public async ValueTask<IReadOnlyList<StoredBaseline>> LoadBaselinesAsync(CancellationToken cancellationToken)
    {
        // Both hashes in one transaction: read one after the other, a publish between them would pair a pin's
        // record with the epoch of the baseline that completed it.
        var read = _redis.GetDatabase().CreateTransaction();
        var entriesRead = read.HashGetAllAsync(_baselines);
        var epochsRead = read.HashGetAllAsync(_baselineEpochs);
        await read.ExecuteAsync();
        var entries = await entriesRead;
        var epochs = (await epochsRead).ToDictionary(e => (string)e.Name!, e => (string)e.Value!);
        return [.. entries.Select(e =>
        {
            var field = (string)e.Name!;
            var parts = field.Split('\0', 2);
            var (epoch, complete) = epochs.TryGetValue(field, out var stored) && stored.Split(':') is [var storedEpoch, var storedComplete]
                ? (long.Parse(storedEpoch, CultureInfo.InvariantCulture), storedComplete == "1")
                : (0L, true);
            return new StoredBaseline(parts[0], parts[1], epoch, complete, (byte[])e.Value!);
        })];
    }

    private static string BaselineField(string modelName, string modelVersion) => $"{modelName}\0{modelVersion}";

    public async ValueTask<SweepResult> SweepAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        try
        {
            var result = (RedisResult[])(await _redis.GetDatabase().ScriptEvaluateAsync(
                SweepScript, [_index], [_hashPrefix, now.ToUnixTimeMilliseconds() - _ttlMs, _maxPending]))!;
            _health.ReportSuccess();
            return new SweepResult((long)result[0], (long)result[1], (long)result[2]);
        }
        catch (RedisException e)
        {
            _health.ReportFailure("sweep", e);
            throw;
        }
    }

    public async ValueTask HandOverWindowsAsync(byte[] windows, DateTimeOffset handedOverAt, CancellationToken cancellationToken)
    {
        var id = Guid.NewGuid().ToString("N");
        var write = _redis.GetDatabase().CreateTransaction();
        _ = write.HashSetAsync(_handedOver, id, windows);
        _ = write.SortedSetAddAsync(_handedOverTimes, id, handedOverAt.ToUnixTimeMilliseconds());
        await write.ExecuteAsync();
    }

    public async ValueTask<byte[]?> TakeHandedOverWindowsAsync(DateTimeOffset handedOverBefore, DateTimeOffset discardBefore, CancellationToken cancellationToken)
    {
        var taken = await _redis.GetDatabase().ScriptEvaluateAsync(
            TakeHandedOverScript, [_handedOver, _handedOverTimes], [handedOverBefore.ToUnixTimeMilliseconds(), discardBefore.ToUnixTimeMilliseconds()]);
        return taken.IsNull ? null : (byte[]?)taken;
    }

    public async ValueTask DisposeAsync()
    {
        await _writes.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private async Task WriteBatchAsync(IReadOnlyList<(string Id, PendingPrediction Prediction)> batch, CancellationToken cancellationToken)
    {
        // One script per chunk, not per prediction: a round trip and a task per 500 predictions instead of one each,
        // which is what let the write queue keep up. The keys share a slot (the hash tag), so a chunk is one script
        // in a cluster too.
        var database = _redis.GetDatabase();
        var lifetimeMs = 2 * _ttlMs;
        var writes = new List<Task>((batch.Count / WriteChunk) + 1);
        for (var start = 0; start < batch.Count; start += WriteChunk)
        {
            var count = Math.Min(WriteChunk, batch.Count - start);
            var keys = new RedisKey[count + 1];
            keys[0] = _index;
            var values = new List<RedisValue>(1 + (count * 15)) { lifetimeMs };
            for (var i = 0; i < count; i++)
            {
                var (id, prediction) = batch[start + i];
                keys[i + 1] = _hashPrefix + id;
                var hasClass = prediction.PredictedClass is not null;
                var hasConfidence = !float.IsNaN(prediction.Confidence);
                values.Add(id);
                values.Add(prediction.TimeMs);
                values.Add(4 + (hasClass ? 1 : 0) + (hasConfidence ? 1 : 0));
                values.Add("m");
                values.Add(prediction.Model.ModelName);
                values.Add("v");
                values.Add(prediction.Model.ModelVersion);
                values.Add("x");
                values.Add(prediction.PredictedValue.ToString("R", CultureInfo.InvariantCulture));
                values.Add("t");
                values.Add(prediction.TimeMs);
                if (hasClass)
                {
                    values.Add("c");
                    values.Add(prediction.PredictedClass!.Name);
                }

                if (hasConfidence)
                {
                    values.Add("f");
                    values.Add(prediction.Confidence.ToString("R", CultureInfo.InvariantCulture));
                }
            }

            writes.Add(database.ScriptEvaluateAsync(RememberScript, keys, [.. values]));
        }

        await Task.WhenAll(writes);
    }

    private PendingPrediction Hydrate(string model, string version, string predictedClass, string value, string confidence, string time)
    {
        var series = _registry.Get(model, version);
        return new PendingPrediction(
            series,
            predictedClass.Length == 0 ? null : series.GetClass(predictedClass),
            double.Parse(value, CultureInfo.InvariantCulture),
            confidence.Length == 0 ? float.NaN : float.Parse(confidence, CultureInfo.InvariantCulture),
            long.Parse(time, CultureInfo.InvariantCulture));
    }
}

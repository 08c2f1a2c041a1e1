using StackExchange.Redis;

namespace MlMonitoring.Sidecar.SharedState;

/// <summary>Predictions waiting for their labels (<see cref="IPendingPredictionStore"/>).</summary>
internal sealed partial class RedisSharedStateStore
{
    // KEYS[1] prediction, KEYS[2] index; ARGV[1] id, ARGV[2] label is class (1/0), ARGV[3] expire-before ms.
    // Returns {outcome, packed prediction}; outcome: 0 claimed, 1 duplicate, 2 expired, 3 unknown, 4 mismatch.
    private const string ClaimScript = """
        local p = redis.call('GET', KEYS[1])
        if not p then return {3} end
        local state = string.sub(p, 1, 1)
        if state == '1' then return {1, p} end
        if state == '2' then return {2, p} end
        if tonumber(string.match(p, '^..(%d+)')) < tonumber(ARGV[3]) then
          redis.call('SETRANGE', KEYS[1], 0, '2')
          redis.call('ZREM', KEYS[2], ARGV[1])
          return {2, p}
        end
        if ((string.sub(p, 2, 2) == 'c') and '1' or '0') ~= ARGV[2] then return {4, p} end
        redis.call('SETRANGE', KEYS[1], 0, '1')
        redis.call('ZREM', KEYS[2], ARGV[1])
        return {0, p}
        """;

    // KEYS[1] index; ARGV[1] prefix of predictions, ARGV[2] expire-before ms, ARGV[3] max pending.
    // Returns {expired, evicted, pending}. A prediction's state is its first byte; SETRANGE keeps its TTL, and
    // is only applied to one that exists (it would create a key without one).
    private const string SweepScript = """
        local function expire(id)
          if redis.call('EXISTS', ARGV[1] .. id) == 1 then redis.call('SETRANGE', ARGV[1] .. id, 0, '2') end
        end
        local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2], 'LIMIT', 0, 10000)
        for _, id in ipairs(expired) do
          expire(id)
          redis.call('ZREM', KEYS[1], id)
        end
        local evicted = 0
        local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3])
        if excess > 0 then
          local oldest = redis.call('ZPOPMIN', KEYS[1], math.min(excess, 10000))
          for i = 1, #oldest, 2 do
            expire(oldest[i])
            evicted = evicted + 1
          end
        end
        return {#expired, evicted, redis.call('ZCARD', KEYS[1])}
        """;

    /// <summary>Predictions written by one script.</summary>
    private const int WriteChunk = 500;

    /// <summary>
    /// KEYS[1] index, KEYS[2..] the predictions; ARGV[1] their lifetime ms, then per prediction: id, time ms, packed
    /// prediction. A repeated id keeps its first prediction, as in the other stores.
    /// </summary>
    private const string RememberScript = """
        for k = 2, #KEYS do
          local at = (k - 2) * 3 + 2
          if redis.call('SET', KEYS[k], ARGV[at + 2], 'PX', ARGV[1], 'NX') then
            redis.call('ZADD', KEYS[1], ARGV[at + 1], ARGV[at])
          end
        end
        return 1
        """;

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
            var partition = PartitionOf(predictionId);
            result = await _redis.GetDatabase().ScriptEvaluateAsync(
                ClaimScript,
                [partition.PredictionPrefix + predictionId, partition.Index],
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
            : new Claim(outcome, PackedPrediction.Read((byte[])fields[1]!, _registry));
    }

    public async ValueTask<PendingPrediction?> FindAsync(string predictionId, CancellationToken cancellationToken)
    {
        RedisValue packed;
        try
        {
            packed = await _redis.GetDatabase().StringGetAsync(PartitionOf(predictionId).PredictionPrefix + predictionId);
            _health.ReportSuccess();
        }
        catch (RedisException e)
        {
            _health.ReportFailure("find", e);
            throw;
        }

        return packed.IsNull ? null : PackedPrediction.Read((byte[])packed!, _registry);
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken) => _writes.FlushAsync(cancellationToken);

    public async ValueTask<SweepResult> SweepAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        try
        {
            var database = _redis.GetDatabase();
            var sweeps = await Task.WhenAll(_partitions.Select(p => database.ScriptEvaluateAsync(
                SweepScript, [p.Index], [p.PredictionPrefix, now.ToUnixTimeMilliseconds() - _ttlMs, _maxPendingPerPartition])));
            _health.ReportSuccess();
            long expired = 0, evicted = 0, pending = 0;
            foreach (var sweep in sweeps)
            {
                var result = (RedisResult[])sweep!;
                (expired, evicted, pending) = (expired + (long)result[0], evicted + (long)result[1], pending + (long)result[2]);
            }

            return new SweepResult(expired, evicted, pending);
        }
        catch (RedisException e)
        {
            _health.ReportFailure("sweep", e);
            throw;
        }
    }

    private async Task WriteBatchAsync(IReadOnlyList<(string Id, PendingPrediction Prediction)> batch, CancellationToken cancellationToken)
    {
        // One script per chunk of a partition, not per prediction: a round trip and a task per 500 predictions instead
        // of one each, which is what let the write queue keep up. A partition's keys share a slot (its hash tag), so a
        // chunk is one script in a cluster too. The packed predictions of a batch are written into one buffer, each
        // argument a slice; a new buffer per batch, since a command that timed out may still be sent after this
        // method has returned.
        var database = _redis.GetDatabase();
        var lifetimeMs = 2 * _ttlMs;
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(batch.Count * 64);
        var slices = new (int Start, int Length)[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            slices[i] = PackedPrediction.Write(buffer, batch[i].Prediction);
        }

        var packed = buffer.WrittenMemory;
        var writes = new List<Task>();
        foreach (var members in Enumerable.Range(0, batch.Count).GroupBy(i => PartitionIndexOf(batch[i].Id)))
        {
            var partition = _partitions[members.Key];
            foreach (var chunk in members.Chunk(WriteChunk))
            {
                var keys = new RedisKey[chunk.Length + 1];
                keys[0] = partition.Index;
                var values = new RedisValue[1 + (chunk.Length * 3)];
                values[0] = lifetimeMs;
                for (var i = 0; i < chunk.Length; i++)
                {
                    var (id, prediction) = batch[chunk[i]];
                    var (at, length) = slices[chunk[i]];
                    keys[i + 1] = partition.PredictionPrefix + id;
                    values[1 + (i * 3)] = id;
                    values[2 + (i * 3)] = prediction.TimeMs;
                    values[3 + (i * 3)] = packed.Slice(at, length);
                }

                writes.Add(database.ScriptEvaluateAsync(RememberScript, keys, values));
            }
        }

        await Task.WhenAll(writes);
    }

    private Partition PartitionOf(string predictionId) => _partitions[PartitionIndexOf(predictionId)];

    /// <summary>The partition of an id: the same on every replica (a hash of its UTF-16 code units, not the process-seeded string hash).</summary>
    private int PartitionIndexOf(string predictionId)
    {
        if (_partitions.Length == 1)
        {
            return 0;
        }

        var hash = System.IO.Hashing.XxHash32.HashToUInt32(System.Runtime.InteropServices.MemoryMarshal.AsBytes(predictionId.AsSpan()));
        return (int)(hash % (uint)_partitions.Length);
    }
}

namespace MlMonitoring.Sidecar.SharedState;

/// <summary>Windows a stopping replica hands over (<see cref="IWindowHandoverStore"/>).</summary>
internal sealed partial class RedisSharedStateStore
{
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
}

using System.Globalization;

namespace MlMonitoring.Sidecar.SharedState;

/// <summary>Drift baselines, one per model version for the fleet (<see cref="ISharedBaselineStore"/>).</summary>
internal sealed partial class RedisSharedStateStore
{
    /// <summary>
    /// KEYS: the baselines hash, the hash of their epochs ("epoch:complete"); ARGV: field, epoch, complete (1/0),
    /// data. Writes both when the new record supersedes the stored one (StoredBaseline.Supersedes); returns 1 if
    /// written.
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
        end
        redis.call('HSET', KEYS[2], ARGV[1], ARGV[2] .. ':' .. ARGV[3])
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
        return 1
        """;

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
}

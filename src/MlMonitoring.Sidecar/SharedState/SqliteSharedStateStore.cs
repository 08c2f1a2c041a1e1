using Microsoft.Data.Sqlite;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.SharedState;

/// <summary>
/// Pending predictions in an SQLite file, so that a label sent after a restart of the sidecar still joins.
/// Writes go through a <see cref="WriteQueue{T}"/> and are committed in batches; one connection serves every
/// statement, since SQLite has a single writer anyway.
/// </summary>
internal sealed class SqliteSharedStateStore : ISharedStateStore
{
    private readonly SqliteConnection _connection;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ModelVersionRegistry _registry;
    private readonly SharedStateHealth _health;
    private readonly WriteQueue<(string Id, PendingPrediction Prediction)> _writes;
    private readonly long _ttlMs;
    private readonly int _maxPending;

    public SqliteSharedStateStore(SharedStateOptions options, PendingPredictionLimits limits, ModelVersionRegistry registry, SharedStateHealth health)
    {
        _registry = registry;
        _health = health;
        _ttlMs = (long)limits.Ttl.TotalMilliseconds;
        _maxPending = limits.MaxPending;
        var directory = Path.GetDirectoryName(Path.GetFullPath(options.SqlitePath));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        // A file locked by another process answers SQLITE_BUSY; after two seconds of retries the store counts as
        // down (a self-metric and readiness show it) instead of holding a label call for the default thirty.
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = options.SqlitePath,
            Pooling = false,
            DefaultTimeout = 2,
        }.ToString());
        _connection.Open();
        Execute("""
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = NORMAL;
            CREATE TABLE IF NOT EXISTS predictions (
                id TEXT PRIMARY KEY,
                model TEXT NOT NULL,
                version TEXT NOT NULL,
                class TEXT,
                value REAL NOT NULL,
                confidence REAL,
                time_ms INTEGER NOT NULL,
                state INTEGER NOT NULL DEFAULT 0
            ) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS predictions_by_state_time ON predictions (state, time_ms);
            CREATE TABLE IF NOT EXISTS baselines (
                model TEXT NOT NULL,
                version TEXT NOT NULL,
                baseline BLOB NOT NULL,
                epoch INTEGER NOT NULL DEFAULT 0,
                complete INTEGER NOT NULL DEFAULT 1,
                PRIMARY KEY (model, version)
            ) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS handed_over_windows (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                handed_over_ms INTEGER NOT NULL,
                windows BLOB NOT NULL
            );
            """);
        AddBaselineEpochsToOlderFiles();
        _writes = new(options.WriteQueueCapacity, WriteBatchAsync, health.ReportWriteFailure);
    }

    /// <summary>A file written before baselines had epochs gets the columns; its baselines count as epoch 0, complete.</summary>
    private void AddBaselineEpochsToOlderFiles()
    {
        using var columns = _connection.CreateCommand();
        columns.CommandText = "SELECT COUNT(*) FROM pragma_table_info('baselines') WHERE name = 'epoch'";
        if (Convert.ToInt64(columns.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 0)
        {
            Execute("""
                ALTER TABLE baselines ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE baselines ADD COLUMN complete INTEGER NOT NULL DEFAULT 1;
                """);
        }
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
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return await ClaimLockedAsync(predictionId, labelIsClass, now, cancellationToken);
        }
        catch (SqliteException e)
        {
            _health.ReportFailure("claim", e);
            throw;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async ValueTask<Claim> ClaimLockedAsync(string predictionId, bool labelIsClass, DateTimeOffset now, CancellationToken cancellationToken)
    {
        using var read = _connection.CreateCommand();
        read.CommandText = "SELECT model, version, class, value, confidence, time_ms, state FROM predictions WHERE id = $id";
        read.Parameters.AddWithValue("$id", predictionId);
        PendingPrediction prediction;
        PredictionState state;
        using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                return _health.IsHealthy
                    ? new Claim(ClaimOutcome.Unknown, default)
                    : throw new SharedStateUnavailableException("writes are failing; the prediction may still be queued");
            }

            prediction = ReadPrediction(reader);
            state = (PredictionState)reader.GetInt32(6);
        }

        var outcome = state switch
        {
            PredictionState.Labeled => ClaimOutcome.Duplicate,
            PredictionState.Expired => ClaimOutcome.Expired,
            _ when prediction.TimeMs < now.ToUnixTimeMilliseconds() - _ttlMs => ClaimOutcome.Expired,
            _ when prediction.IsClassification != labelIsClass => ClaimOutcome.Mismatch,
            _ => ClaimOutcome.Claimed,
        };
        if (outcome is ClaimOutcome.Claimed or ClaimOutcome.Expired && state == PredictionState.Pending)
        {
            using var update = _connection.CreateCommand();
            update.CommandText = "UPDATE predictions SET state = $state WHERE id = $id AND state = 0";
            update.Parameters.AddWithValue("$id", predictionId);
            update.Parameters.AddWithValue("$state", outcome == ClaimOutcome.Claimed ? (int)PredictionState.Labeled : (int)PredictionState.Expired);
            await update.ExecuteNonQueryAsync(cancellationToken);
        }

        _health.ReportSuccess();
        return new Claim(outcome, prediction);
    }

    public async ValueTask<PendingPrediction?> FindAsync(string predictionId, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var read = _connection.CreateCommand();
            read.CommandText = "SELECT model, version, class, value, confidence, time_ms FROM predictions WHERE id = $id";
            read.Parameters.AddWithValue("$id", predictionId);
            using var reader = await read.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken) ? ReadPrediction(reader) : null;
        }
        finally
        {
            _gate.Release();
        }
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken) => _writes.FlushAsync(cancellationToken);

    public async ValueTask<bool> PublishBaselineAsync(StoredBaseline baseline, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            // The same rule as StoredBaseline.Supersedes, in one statement: atomic for every process on the file.
            using var upsert = _connection.CreateCommand();
            upsert.CommandText = """
                INSERT INTO baselines (model, version, baseline, epoch, complete) VALUES ($model, $version, $baseline, $epoch, $complete)
                ON CONFLICT (model, version) DO UPDATE SET baseline = excluded.baseline, epoch = excluded.epoch, complete = excluded.complete
                WHERE excluded.epoch > baselines.epoch OR (excluded.epoch = baselines.epoch AND excluded.complete = 1 AND baselines.complete = 0)
                """;
            upsert.Parameters.AddWithValue("$model", baseline.ModelName);
            upsert.Parameters.AddWithValue("$version", baseline.ModelVersion);
            upsert.Parameters.AddWithValue("$baseline", baseline.Data);
            upsert.Parameters.AddWithValue("$epoch", baseline.Epoch);
            upsert.Parameters.AddWithValue("$complete", baseline.Complete ? 1 : 0);
            return await upsert.ExecuteNonQueryAsync(cancellationToken) == 1;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask<IReadOnlyList<StoredBaseline>> LoadBaselinesAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var read = _connection.CreateCommand();
            read.CommandText = "SELECT model, version, epoch, complete, baseline FROM baselines";
            using var reader = await read.ExecuteReaderAsync(cancellationToken);
            var baselines = new List<StoredBaseline>();
            while (await reader.ReadAsync(cancellationToken))
            {
                baselines.Add(new StoredBaseline(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3) == 1, (byte[])reader.GetValue(4)));
            }

            return baselines;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask HandOverWindowsAsync(byte[] windows, DateTimeOffset handedOverAt, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var insert = _connection.CreateCommand();
            insert.CommandText = "INSERT INTO handed_over_windows (handed_over_ms, windows) VALUES ($at, $windows)";
            insert.Parameters.AddWithValue("$at", handedOverAt.ToUnixTimeMilliseconds());
            insert.Parameters.AddWithValue("$windows", windows);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask<byte[]?> TakeHandedOverWindowsAsync(DateTimeOffset handedOverBefore, DateTimeOffset discardBefore, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            // One statement each: a row is deleted by exactly one of the processes sharing the file.
            using var take = _connection.CreateCommand();
            take.CommandText = """
                DELETE FROM handed_over_windows WHERE handed_over_ms < $discard;
                DELETE FROM handed_over_windows
                WHERE id = (SELECT id FROM handed_over_windows WHERE handed_over_ms < $before ORDER BY handed_over_ms LIMIT 1)
                RETURNING windows;
                """;
            take.Parameters.AddWithValue("$discard", discardBefore.ToUnixTimeMilliseconds());
            take.Parameters.AddWithValue("$before", handedOverBefore.ToUnixTimeMilliseconds());
            return await take.ExecuteScalarAsync(cancellationToken) as byte[];
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask<SweepResult> SweepAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var expireBefore = now.ToUnixTimeMilliseconds() - _ttlMs;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var expired = await ExecuteAsync(
                "UPDATE predictions SET state = 2 WHERE state = 0 AND time_ms < $before", ("$before", expireBefore), cancellationToken);
            var pending = await CountPendingAsync(cancellationToken);
            long evicted = 0;
            if (pending > _maxPending)
            {
                evicted = await ExecuteAsync(
                    "UPDATE predictions SET state = 2 WHERE id IN (SELECT id FROM predictions WHERE state = 0 ORDER BY time_ms LIMIT $excess)",
                    ("$excess", pending - _maxPending), cancellationToken);
                pending -= evicted;
            }

            // Tombstones are kept one more TTL to tell duplicates and late labels from unknown ids.
            await ExecuteAsync("DELETE FROM predictions WHERE state <> 0 AND time_ms < $before", ("$before", expireBefore - _ttlMs), cancellationToken);
            _health.ReportSuccess();
            return new SweepResult(expired, evicted, pending);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _writes.DisposeAsync();
        await _gate.WaitAsync();
        try
        {
            // Leave a checkpointed file behind: a restart then opens it without replaying the write-ahead log.
            Execute("PRAGMA wal_checkpoint(TRUNCATE);");
            await _connection.DisposeAsync();
        }
        finally
        {
            _gate.Release();
        }

        _gate.Dispose();
    }

    private async Task WriteBatchAsync(IReadOnlyList<(string Id, PendingPrediction Prediction)> batch, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var transaction = _connection.BeginTransaction();
            using var insert = _connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = """
                INSERT OR IGNORE INTO predictions (id, model, version, class, value, confidence, time_ms)
                VALUES ($id, $model, $version, $class, $value, $confidence, $time)
                """;
            var id = insert.Parameters.Add("$id", SqliteType.Text);
            var model = insert.Parameters.Add("$model", SqliteType.Text);
            var version = insert.Parameters.Add("$version", SqliteType.Text);
            var predictedClass = insert.Parameters.Add("$class", SqliteType.Text);
            var value = insert.Parameters.Add("$value", SqliteType.Real);
            var confidence = insert.Parameters.Add("$confidence", SqliteType.Real);
            var time = insert.Parameters.Add("$time", SqliteType.Integer);
            foreach (var (predictionId, prediction) in batch)
            {
                id.Value = predictionId;
                model.Value = prediction.Model.ModelName;
                version.Value = prediction.Model.ModelVersion;
                predictedClass.Value = (object?)prediction.PredictedClass?.Name ?? DBNull.Value;
                value.Value = prediction.PredictedValue;
                confidence.Value = float.IsNaN(prediction.Confidence) ? DBNull.Value : prediction.Confidence;
                time.Value = prediction.TimeMs;
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            _health.ReportSuccess();
        }
        finally
        {
            _gate.Release();
        }
    }

    private PendingPrediction ReadPrediction(SqliteDataReader reader)
    {
        var model = _registry.Get(reader.GetString(0), reader.GetString(1));
        var predictedClass = reader.IsDBNull(2) ? null : model.GetClass(reader.GetString(2));
        var confidence = reader.IsDBNull(4) ? float.NaN : (float)reader.GetDouble(4);
        return new PendingPrediction(model, predictedClass, reader.GetDouble(3), confidence, reader.GetInt64(5));
    }

    private async Task<long> CountPendingAsync(CancellationToken cancellationToken)
    {
        using var count = _connection.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM predictions WHERE state = 0";
        return (long)(await count.ExecuteScalarAsync(cancellationToken))!;
    }

    private async Task<long> ExecuteAsync(string sql, (string Name, long Value) parameter, CancellationToken cancellationToken)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue(parameter.Name, parameter.Value);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}

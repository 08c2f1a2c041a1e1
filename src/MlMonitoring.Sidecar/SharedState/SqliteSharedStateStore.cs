using Microsoft.Data.Sqlite;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.SharedState;

/// <summary>
/// Pending predictions in an SQLite file, so that a label sent after a restart of the sidecar still joins.
/// Writes go through a <see cref="WriteQueue{T}"/> and are committed in batches; one connection serves every
/// statement, since SQLite has a single writer anyway.
/// </summary>
internal sealed partial class SqliteSharedStateStore : ISharedStateStore
{
    private readonly SqliteConnection _connection;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ModelVersionRegistry _registry;
    private readonly SharedStateHealth _health;
    private readonly WriteQueue<(string Id, PendingPrediction Prediction)> _writes;
    private readonly long _ttlMs;
    private readonly int _maxPending;
    private int _disposed;

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
                epoch INTEGER NOT NULL,
                complete INTEGER NOT NULL,
                PRIMARY KEY (model, version)
            ) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS handed_over_windows (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                handed_over_ms INTEGER NOT NULL,
                windows BLOB NOT NULL
            );
            """);
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

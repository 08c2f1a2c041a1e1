using Microsoft.Data.Sqlite;

namespace MlMonitoring.Sidecar.SharedState;

/// <summary>Predictions waiting for their labels (<see cref="IPendingPredictionStore"/>).</summary>
internal sealed partial class SqliteSharedStateStore
{
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
}

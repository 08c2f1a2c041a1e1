namespace MlMonitoring.Sidecar.SharedState;

/// <summary>Drift baselines, one per model version for the fleet (<see cref="ISharedBaselineStore"/>).</summary>
internal sealed partial class SqliteSharedStateStore
{
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
}

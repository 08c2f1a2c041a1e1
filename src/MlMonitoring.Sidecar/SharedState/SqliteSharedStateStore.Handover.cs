namespace MlMonitoring.Sidecar.SharedState;

/// <summary>Windows a stopping replica hands over (<see cref="IWindowHandoverStore"/>).</summary>
internal sealed partial class SqliteSharedStateStore
{
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
}

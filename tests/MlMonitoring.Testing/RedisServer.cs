namespace MlMonitoring.Testing;

/// <summary>A real redis-server (Debian's package) on a free loopback port, without persistence.</summary>
public sealed class RedisServer : IAsyncDisposable
{
    private ExternalProcess _process;

    private RedisServer(ExternalProcess process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string Configuration => $"127.0.0.1:{Port}";

    public static async Task<RedisServer> StartAsync()
    {
        var port = FreePort.Next();
        var server = new RedisServer(await LaunchAsync(port), port);
        return server;
    }

    /// <summary>Stops the server, as an outage would.</summary>
    public async Task StopAsync() => await _process.DisposeAsync();

    /// <summary>Starts it again on the same port after <see cref="StopAsync"/> (empty: no persistence).</summary>
    public async Task StartAgainAsync() => _process = await LaunchAsync(Port);

    /// <summary>Starts it again on the same port (empty: no persistence).</summary>
    public async Task RestartAsync()
    {
        await _process.DisposeAsync();
        _process = await LaunchAsync(Port);
    }

    /// <summary>What the server printed.</summary>
    public string Output => _process.Output;

    public async ValueTask DisposeAsync() => await _process.DisposeAsync();

    private static async Task<ExternalProcess> LaunchAsync(int port)
    {
        var binary = ExternalProcess.Require("redis-server", "redis-server");
        var process = ExternalProcess.Start(binary, ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);
        await Eventually.WaitAsync(
            () => !process.HasExited
                ? process.Output.Contains("Ready to accept connections", StringComparison.Ordinal)
                : throw new InvalidOperationException($"redis-server exited:\n{process.Output}"),
            TimeSpan.FromSeconds(30),
            () => $"redis-server ready\n{process.Output}");
        return process;
    }
}

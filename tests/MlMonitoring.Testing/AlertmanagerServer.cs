namespace MlMonitoring.Testing;

/// <summary>A real Alertmanager (Debian's prometheus-alertmanager) on a free loopback port, clustering off.</summary>
public sealed class AlertmanagerServer : IAsyncDisposable
{
    private readonly ExternalProcess _process;
    private readonly string _directory;

    private AlertmanagerServer(ExternalProcess process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    public string Output => _process.Output;

    public static async Task<AlertmanagerServer> StartAsync(string configYaml)
    {
        var binary = ExternalProcess.Require("prometheus-alertmanager", "prometheus-alertmanager");
        var directory = Directory.CreateTempSubdirectory("mlmon-alertmanager-").FullName;
        var config = Path.Combine(directory, "alertmanager.yml");
        await File.WriteAllTextAsync(config, configYaml);
        var port = FreePort.Next();
        var process = ExternalProcess.Start(binary,
        [
            $"--config.file={config}",
            $"--storage.path={Path.Combine(directory, "data")}",
            $"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ]);
        await process.WaitUntilReadyAsync(new Uri($"http://127.0.0.1:{port}/-/ready"), "alertmanager", TimeSpan.FromSeconds(30));
        return new AlertmanagerServer(process, directory, port);
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Still closing its files.
        }
    }
}

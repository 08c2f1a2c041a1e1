using System.Globalization;

namespace MlMonitoring.Testing;

/// <summary>
/// A real Redis Cluster of three masters (Debian's redis-server with <c>--cluster-enabled yes</c>, joined by
/// <c>redis-cli --cluster create</c>), each on a free loopback port, without persistence.
/// </summary>
public sealed class RedisCluster : IAsyncDisposable
{
    private readonly List<ExternalProcess> _nodes;
    private readonly string _directory;

    private RedisCluster(List<ExternalProcess> nodes, int[] ports, string directory)
    {
        _nodes = nodes;
        Ports = ports;
        _directory = directory;
    }

    public IReadOnlyList<int> Ports { get; }

    public static async Task<RedisCluster> StartAsync()
    {
        var server = ExternalProcess.Require("redis-server", "redis-server");
        var cli = ExternalProcess.Require("redis-cli", "redis-tools");
        var directory = Directory.CreateTempSubdirectory("mlmon-redis-cluster-").FullName;
        var ports = new[] { FreePort.Next(), FreePort.Next(), FreePort.Next() };
        var nodes = new List<ExternalProcess>();
        var cluster = new RedisCluster(nodes, ports, directory);
        try
        {
            foreach (var port in ports)
            {
                var p = port.ToString(CultureInfo.InvariantCulture);
                nodes.Add(ExternalProcess.Start(server,
                [
                    "--port", p, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                    // The cluster bus listens on a port of its own, by default the client port + 10000: from the free
                    // ports' range that lands in the kernel's ephemeral range, where an outgoing connection of another
                    // test can hold it ("address already in use", seen in CI). It gets a free port of its own instead.
                    "--cluster-enabled", "yes", "--cluster-port", FreePort.Next().ToString(CultureInfo.InvariantCulture),
                    "--cluster-config-file", Path.Combine(directory, $"nodes-{p}.conf"),
                    "--cluster-node-timeout", "5000", "--dir", directory,
                ]));
            }

            foreach (var node in nodes)
            {
                await WaitForAsync(() => node.Output.Contains("Ready to accept connections", StringComparison.Ordinal), node, "redis-server");
            }

            var (exitCode, output) = await ExternalProcess.RunAsync(cli,
                ["--cluster", "create", .. ports.Select(p => $"127.0.0.1:{p}"), "--cluster-replicas", "0", "--cluster-yes"]);
            if (exitCode != 0)
            {
                throw new InvalidOperationException($"redis-cli --cluster create failed:\n{output}");
            }

            // Every node must agree the cluster is up before it serves keys.
            foreach (var port in ports)
            {
                await Eventually.WaitAsync(
                    async () => (await ExternalProcess.RunAsync(cli, ["-p", port.ToString(CultureInfo.InvariantCulture), "cluster", "info"])).Output.Contains("cluster_state:ok", StringComparison.Ordinal),
                    TimeSpan.FromSeconds(30),
                    () => $"the cluster node on {port} reporting cluster_state:ok",
                    TimeSpan.FromMilliseconds(100));
            }

            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>The port of the master that serves a key's slot.</summary>
    public async Task<int> MasterOfAsync(string key)
    {
        var cli = ExternalProcess.Require("redis-cli", "redis-tools");
        foreach (var port in Ports)
        {
            // A node answers a key it does not serve with MOVED (redis-cli without -c does not follow it).
            var (_, output) = await ExternalProcess.RunAsync(cli, ["-p", port.ToString(CultureInfo.InvariantCulture), "exists", key]);
            if (!output.Contains("MOVED", StringComparison.Ordinal))
            {
                return port;
            }
        }

        throw new InvalidOperationException($"no node serves {key}");
    }

    /// <summary>How many keys each master holds, by port.</summary>
    public async Task<IReadOnlyDictionary<int, long>> KeysPerMasterAsync()
    {
        var cli = ExternalProcess.Require("redis-cli", "redis-tools");
        var keys = new Dictionary<int, long>();
        foreach (var port in Ports)
        {
            var (_, output) = await ExternalProcess.RunAsync(cli, ["-p", port.ToString(CultureInfo.InvariantCulture), "dbsize"]);
            keys[port] = long.Parse(output.Trim(), CultureInfo.InvariantCulture);
        }

        return keys;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        Directory.Delete(_directory, recursive: true);
    }

    private static async Task WaitForAsync(Func<bool> ready, ExternalProcess process, string what)
    {
        await Eventually.WaitAsync(
            () => !process.HasExited ? ready() : throw new InvalidOperationException($"{what} did not start:\n{process.Output}"),
            TimeSpan.FromSeconds(30),
            () => $"{what} started\n{process.Output}",
            TimeSpan.FromMilliseconds(50));
    }
}

using Grpc.Net.Client;

namespace MlMonitoring.Testing;

/// <summary>
/// The sidecar as it runs in a pod: its own process, the shipped native executable (<see cref="Executable"/>), real
/// Kestrel endpoints on free loopback ports, configured only through environment variables.
/// </summary>
public sealed class SidecarProcess : IAsyncDisposable
{
    private readonly ExternalProcess _process;
    private readonly HttpClient _http;

    private SidecarProcess(ExternalProcess process, int grpcPort, int httpPort)
    {
        _process = process;
        GrpcPort = grpcPort;
        HttpPort = httpPort;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}") };
        Channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
    }

    public int GrpcPort { get; }

    public int HttpPort { get; }

    public GrpcChannel Channel { get; }

    public HttpClient Http => _http;

    public string Output => _process.Output;

    public ExternalProcess Process => _process;

    /// <summary>Warnings and errors the process logged; any not expected fails the test when it is disposed.</summary>
    public UnexpectedLogs Logs { get; } = new();

    /// <summary>
    /// The shipped build: the native AOT executable that <c>./build.sh</c> publishes into <c>artifacts/sidecar/</c>, the
    /// same one the image holds and the benchmarks measure. Missing or older than the sidecar's sources, it fails
    /// the test that needs it rather than testing something else.
    /// </summary>
    public static string Executable => ShippedExecutable.Value;

    private static readonly Lazy<string> ShippedExecutable = new(() =>
    {
        var path = Repository.PathOf("artifacts", "sidecar", "MlMonitoring.Sidecar");
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"{path} is missing: run ./build.sh (./test.sh does) to publish the native sidecar the process tests start.");
        }

        var built = File.GetLastWriteTimeUtc(path);
        var newer = SourcesOfTheSidecar().FirstOrDefault(source => File.GetLastWriteTimeUtc(source) > built);
        if (newer is not null)
        {
            throw new InvalidOperationException($"{path} is older than {newer}: run ./build.sh to publish the sidecar the process tests start.");
        }

        return path;
    });

    private static IEnumerable<string> SourcesOfTheSidecar()
    {
        var project = Repository.PathOf("src", "MlMonitoring.Sidecar");
        var bin = Path.Combine(project, "bin") + Path.DirectorySeparatorChar;
        var obj = Path.Combine(project, "obj") + Path.DirectorySeparatorChar;
        return Directory.EnumerateFiles(project, "*", SearchOption.AllDirectories)
            .Where(file => !file.StartsWith(bin, StringComparison.Ordinal) && !file.StartsWith(obj, StringComparison.Ordinal))
            .Concat(Directory.EnumerateFiles(Repository.PathOf("protos"), "*.proto", SearchOption.AllDirectories))
            .Concat([Repository.PathOf("Directory.Build.props"), Repository.PathOf("Directory.Packages.props")]);
    }

    /// <summary>
    /// Where sidecar processes are started from: a folder of their own, not the build output, as a systemd unit or
    /// an image with another working directory would start them.
    /// </summary>
    public static string WorkingDirectory { get; } = Directory.CreateTempSubdirectory("mlmonitoring-cwd-").FullName;

    /// <summary>
    /// The settings of one replica of a fleet, as the k8s example sets them: replicated, sharing the Redis at
    /// <paramref name="redisConfiguration"/>; plus the test's own.
    /// </summary>
    public static Dictionary<string, string> ReplicaSettings(string redisConfiguration, params (string Key, string Value)[] more)
    {
        var settings = new Dictionary<string, string>
        {
            ["Monitoring__Replicated"] = "true",
            ["Monitoring__SharedState__Store"] = "redis",
            ["Monitoring__SharedState__RedisConfiguration"] = redisConfiguration,
        };
        foreach (var (key, value) in more)
        {
            settings[key] = value;
        }

        return settings;
    }

    /// <param name="bindGrpcToLoopback">False when <paramref name="environment"/> sets the gRPC URL itself.</param>
    public static async Task<SidecarProcess> StartAsync(IDictionary<string, string>? environment = null, int? grpcPort = null, bool bindGrpcToLoopback = true)
    {
        var port = grpcPort ?? FreePort.Next();
        var httpPort = FreePort.Next();
        var env = new Dictionary<string, string>
        {
            ["Kestrel__Endpoints__Grpc__Url"] = $"http://127.0.0.1:{port}",
            ["Kestrel__Endpoints__Http__Url"] = $"http://127.0.0.1:{httpPort}",
            ["DOTNET_ENVIRONMENT"] = "Production",
        };
        if (!bindGrpcToLoopback)
        {
            env.Remove("Kestrel__Endpoints__Grpc__Url");
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            env[key] = value;
        }

        var process = ExternalProcess.Start(Executable, [], env, workingDirectory: WorkingDirectory);
        var sidecar = new SidecarProcess(process, port, httpPort);
        await process.WaitUntilReadyAsync(new Uri($"http://127.0.0.1:{httpPort}/readyz"), "the sidecar", TimeSpan.FromSeconds(60));
        return sidecar;
    }

    public async Task<string> ScrapeTextAsync() => await _http.GetStringAsync(new Uri("/metrics", UriKind.Relative));

    public async Task<MetricsText> ScrapeAsync() => MetricsText.Parse(await ScrapeTextAsync());

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        _http.Dispose();
        await _process.DisposeAsync();
        Logs.AddFromConsole(_process.Output);
        Logs.ThrowIfAny();
    }
}

using Grpc.Net.Client;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Tests.Infrastructure;

/// <summary>
/// The sidecar as it runs in a pod: its own process, the built <c>MlMonitoring.Sidecar.dll</c>, real Kestrel
/// endpoints on free loopback ports, configured only through environment variables.
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

    public PredictionMonitor.PredictionMonitorClient CreateMonitorClient() => new(Channel);

    /// <summary>The built sidecar: beside the tests by default (the sidecar tests reference its project).</summary>
    public static string DllPath { get; set; } = Path.Combine(AppContext.BaseDirectory, "MlMonitoring.Sidecar.dll");

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
            ["Monitoring__GroundTruth__Store"] = "redis",
            ["Monitoring__GroundTruth__RedisConfiguration"] = redisConfiguration,
        };
        foreach (var (key, value) in more)
        {
            settings[key] = value;
        }

        return settings;
    }

    /// <param name="bindGrpcToLoopback">False when <paramref name="environment"/> sets the gRPC URL itself.</param>
    /// <param name="dllPath">Another build of the sidecar (a published one); by default <see cref="DllPath"/>.</param>
    public static async Task<SidecarProcess> StartAsync(IDictionary<string, string>? environment = null, int? grpcPort = null, bool bindGrpcToLoopback = true, string? dllPath = null)
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

        var process = ExternalProcess.Start("dotnet", ["exec", dllPath ?? DllPath], env, workingDirectory: WorkingDirectory);
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

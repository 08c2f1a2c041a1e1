using System.Security.Cryptography;
using MlMonitoring.Sidecar.Tests.Infrastructure;
using YamlDotNet.RepresentationModel;

namespace MlMonitoring.Sidecar.Tests.Deploy;

/// <summary>
/// The image the k8s example names, as <c>./build.sh</c> built it from the shipped executable, started with podman the
/// way the example's pod runs it.
/// </summary>
[Trait("Parts", "Real")]
public sealed class ImageTests
{
    private const long MaxImageBytes = 40_000_000;

    [Fact]
    public async Task The_image_holds_the_shipped_executable_and_its_libraries_only_and_runs_as_user_1654()
    {
        var image = SidecarImageOfTheKubernetesExample();

        var config = await Podman.OutputOfAsync("image", "inspect", "--format", "{{.Config.User}} {{json .Config.Entrypoint}} {{.Size}}", image);
        var mounted = await Podman.OutputOfAsync("image", "mount", image);
        string[] files;
        string inImage;
        try
        {
            files = [.. Directory.GetFiles(mounted, "*", SearchOption.AllDirectories).Select(f => "/" + Path.GetRelativePath(mounted, f)).Order(StringComparer.Ordinal)];
            inImage = Sha256Of(Path.Combine(mounted, "app", "MlMonitoring.Sidecar"));
        }
        finally
        {
            await Podman.RunAsync("image", "unmount", image);
        }

        var parts = config.Split(' ');
        Assert.Equal("1654:1654", parts[0]);
        Assert.Equal("[\"/app/MlMonitoring.Sidecar\"]", parts[1]);
        Assert.True(long.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture) <= MaxImageBytes, $"image of {parts[2]} bytes");
        // One build: the image's executable is the one the process tests start and the benchmarks measure.
        Assert.Equal(Sha256Of(SidecarProcess.Executable), inImage);
        // No shell, no package manager: the executable, SQLite, the C library and OpenSSL, users and CA certificates.
        Assert.Equal(
            [
                "/app/MlMonitoring.Sidecar", "/app/libe_sqlite3.so", "/etc/group", "/etc/passwd", "/etc/ssl/certs/ca-certificates.crt",
                "/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/libcrypto.so.3", "/lib/x86_64-linux-gnu/libm.so.6",
                "/lib/x86_64-linux-gnu/libssl.so.3", "/lib64/ld-linux-x86-64.so.2",
            ],
            files);
    }

    [Fact]
    public async Task The_image_starts_as_the_k8s_example_runs_it_records_an_event_and_exits_cleanly_on_sigterm()
    {
        var image = SidecarImageOfTheKubernetesExample();
        var grpcPort = FreePort.Next();
        var httpPort = FreePort.Next();
        var name = $"mlmonitoring-image-test-{Guid.NewGuid():N}";
        // As the pod runs it: the image's own entrypoint and user, a read-only root filesystem, /tmp writable, no
        // capabilities, no privilege escalation. Host networking keeps the ports on this machine's loopback.
        await using var container = Podman.Start(
            "run", "--name", name, "--network", "host", "--read-only", "--tmpfs", "/tmp:rw,mode=1777",
            "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
            "--env", $"Kestrel__Endpoints__Grpc__Url=http://127.0.0.1:{grpcPort}",
            "--env", $"Kestrel__Endpoints__Http__Url=http://127.0.0.1:{httpPort}",
            image);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}") };
            await container.WaitUntilReadyAsync(new Uri(http.BaseAddress, "/readyz"), "the container", TimeSpan.FromSeconds(60));
            var pid = await Podman.OutputOfAsync("inspect", "--format", "{{.State.Pid}}", name);
            var uid = File.ReadLines($"/proc/{pid}/status").Single(l => l.StartsWith("Uid:", StringComparison.Ordinal));

            using var channel = Grpc.Net.Client.GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
            var response = await new V1.PredictionMonitor.PredictionMonitorClient(channel).RecordPredictionsAsync(Events.Batch(
                Events.Classified("in-image", "v1", "cat", 0.9), Events.Classified("in-image", "v1", "dog", 0.8)));
            var metrics = MetricsText.Parse(await http.GetStringAsync(new Uri("/metrics", UriKind.Relative)));

            var stop = await Podman.RunAsync("stop", "--time", "30", name);
            var exitCode = await Podman.OutputOfAsync("inspect", "--format", "{{.State.ExitCode}}", name);
            var logs = await Podman.OutputOfAsync("logs", name);

            Assert.Equal(["1654", "1654", "1654", "1654"], uid.Split('\t', StringSplitOptions.RemoveEmptyEntries).Skip(1));
            Assert.Equal(2UL, response.Accepted);
            Assert.Equal(2, metrics.Value("ml_prediction_requests_total", ("model_name", "in-image"), ("model_version", "v1")));
            Assert.True(stop.ExitCode == 0, stop.Output);
            Assert.True(exitCode == "0", $"exit code {exitCode}:\n{logs}");
            Assert.Contains("Application is shutting down", logs, StringComparison.Ordinal);
            var unexpected = new UnexpectedLogs();
            unexpected.AddFromConsole(logs);
            unexpected.ThrowIfAny();
        }
        finally
        {
            await Podman.RunAsync("rm", "--force", name);
        }
    }

    /// <summary>The sidecar image that <c>k8s/model-server.yaml</c> deploys; <c>./build.sh</c> tags its build with it.</summary>
    private static string SidecarImageOfTheKubernetesExample()
    {
        var yaml = new YamlStream();
        using (var reader = File.OpenText(Repository.PathOf("k8s", "model-server.yaml")))
        {
            yaml.Load(reader);
        }

        var images = yaml.Documents
            .SelectMany(d => d.AllNodes.OfType<YamlMappingNode>())
            .Where(n => n.Children.TryGetValue("name", out var containerName) && containerName.ToString() == "mlmonitoring-sidecar")
            .Select(n => n["image"].ToString());
        return images.Single();
    }

    private static string Sha256Of(string path)
    {
        using var file = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(file));
    }
}

using MlMonitoring.Sidecar.Tests.Infrastructure;

namespace MlMonitoring.Sidecar.Tests.Hosting;

/// <summary>The published sidecar behaves the same whatever folder it is started from.</summary>
public sealed class WorkingDirectoryTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("mlmonitoring-publish-").FullName;

    [Fact]
    public async Task The_published_sidecar_started_from_another_folder_serves_grpc_over_http2_and_records_events()
    {
        // Published from the build the tests ran against, into a folder of its own.
        var published = Path.Combine(_work, "app");
        var (exitCode, output) = await ExternalProcess.RunAsync(
            "dotnet", ["publish", Repository.PathOf("src", "MlMonitoring.Sidecar", "MlMonitoring.Sidecar.csproj"), "-c", "Release", "--no-build", "-o", published]);
        Assert.True(exitCode == 0, output);
        Assert.False(File.Exists(Path.Combine(published, "appsettings.json")), "the sidecar's defaults must not live in a file beside it");

        // Only the URLs are given, as a pod spec would give them: the protocols come from the sidecar itself.
        await using var sidecar = await SidecarProcess.StartAsync(dllPath: Path.Combine(published, "MlMonitoring.Sidecar.dll"));
        Assert.NotEqual(Path.GetFullPath(published), Path.GetFullPath(SidecarProcess.WorkingDirectory));

        var response = await sidecar.CreateMonitorClient().RecordPredictionsAsync(Events.Batch(
            Events.Classified("elsewhere", "v1", "cat", 0.9),
            Events.Failed("elsewhere", "v1", "TimeoutError", V1.ErrorKind.Timeout)));

        Assert.Equal(2UL, response.Accepted);
        var metrics = await sidecar.ScrapeAsync();
        Assert.Equal(2, metrics.Value("ml_prediction_requests_total", ("model_name", "elsewhere"), ("model_version", "v1")));
        Assert.Equal(1, metrics.Value("ml_prediction_errors_total", ("model_name", "elsewhere"), ("model_version", "v1"), ("error_type", "TimeoutError"), ("error_kind", "timeout")));
    }

    public void Dispose() => Directory.Delete(_work, recursive: true);
}

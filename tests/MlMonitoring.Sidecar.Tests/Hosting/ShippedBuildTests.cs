using System.Globalization;
using System.Text.RegularExpressions;
using MlMonitoring.Sidecar.Tests.Infrastructure;

namespace MlMonitoring.Sidecar.Tests.Hosting;

/// <summary>What ships is one native executable, and it behaves the same whatever folder it is started from.</summary>
[Trait("Parts", "Real")]
public sealed class ShippedBuildTests
{
    [Fact]
    public void The_published_sidecar_is_a_native_executable_with_no_runtime_or_settings_files_beside_it()
    {
        var published = Path.GetDirectoryName(SidecarProcess.Executable)!;
        Span<byte> magic = stackalloc byte[4];
        using (var executable = File.OpenRead(SidecarProcess.Executable))
        {
            executable.ReadExactly(magic);
        }

        Assert.True(magic.SequenceEqual("\u007fELF"u8), "the published sidecar must be an ELF executable, not a .NET assembly");
        Assert.Empty(Directory.GetFiles(published, "*.dll"));
        Assert.Empty(Directory.GetFiles(published, "*.runtimeconfig.json"));
        Assert.False(File.Exists(Path.Combine(published, "appsettings.json")), "the sidecar's defaults must not live in a file beside it");
    }

    [Fact]
    public async Task Started_from_another_folder_it_serves_grpc_over_http2_and_records_events()
    {
        // Only the URLs are given, as a pod spec would give them: the protocols come from the sidecar itself.
        await using var sidecar = await SidecarProcess.StartAsync();
        Assert.NotEqual(Path.GetDirectoryName(SidecarProcess.Executable), Path.GetFullPath(SidecarProcess.WorkingDirectory));

        var response = await sidecar.CreateMonitorClient().RecordPredictionsAsync(Events.Batch(
            Events.Classified("elsewhere", "v1", "cat", 0.9),
            Events.Failed("elsewhere", "v1", "TimeoutError", V1.ErrorKind.Timeout)));

        Assert.Equal(2UL, response.Accepted);
        var metrics = await sidecar.ScrapeAsync();
        Assert.Equal(2, metrics.Value("ml_prediction_requests_total", ("model_name", "elsewhere"), ("model_version", "v1")));
        Assert.Equal(1, metrics.Value("ml_prediction_errors_total", ("model_name", "elsewhere"), ("model_version", "v1"), ("error_type", "TimeoutError"), ("error_kind", "timeout")));
    }

    [Fact]
    public async Task Idle_after_start_it_compacts_its_heap_once_and_holds_less_memory_after_it()
    {
        await using var sidecar = await SidecarProcess.StartAsync(new Dictionary<string, string>
        {
            ["Logging__LogLevel__MlMonitoring.Sidecar.Hosting.PostStartCompaction"] = "Debug",
        });

        var compacted = new Regex(@"Heap compacted after start: (\d+) KiB resident before, (\d+) KiB after");
        await Eventually.AssertAsync(
            () =>
            {
                Assert.Matches(compacted, sidecar.Output);
                return Task.CompletedTask;
            },
            TimeSpan.FromSeconds(15));

        var matches = compacted.Matches(sidecar.Output);
        Assert.True(matches.Count == 1, $"one compaction after start expected, saw {matches.Count}:\n{sidecar.Output}");
        var before = long.Parse(matches[0].Groups[1].Value, CultureInfo.InvariantCulture);
        var after = long.Parse(matches[0].Groups[2].Value, CultureInfo.InvariantCulture);
        Assert.True(after < before, $"resident {before} KiB before the compaction, {after} KiB after");
    }
}

namespace MlMonitoring.Sidecar.Tests.Infrastructure;

/// <summary>
/// Debian's podman, as it runs on these machines: the vfs storage driver (the one <c>./build.sh</c> builds into), the
/// runc runtime and the cgroupfs manager, and no default ulimits (crun and the ulimits podman sets by default are
/// refused here: no CAP_SYS_RESOURCE, cgroups in hybrid mode).
/// </summary>
public static class Podman
{
    private static readonly Lazy<string> Configuration = new(() =>
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("mlmonitoring-podman-").FullName, "containers.conf");
        File.WriteAllText(path, "[containers]\ndefault_ulimits = []\n[engine]\ncgroup_manager = \"cgroupfs\"\n");
        return path;
    });

    /// <summary>Runs <c>podman</c> with <paramref name="arguments"/>; returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(params string[] arguments)
    {
        var podman = ExternalProcess.Require("podman", "podman runc");
        ExternalProcess.Require("runc", "runc");
        return await ExternalProcess.RunAsync(
            podman,
            ["--storage-driver", "vfs", "--runtime", "runc", .. arguments],
            separateStderr: true,
            environment: new Dictionary<string, string> { ["CONTAINERS_CONF"] = Configuration.Value });
    }

    /// <summary>Runs <c>podman</c> and returns its output; fails the test if it fails.</summary>
    public static async Task<string> OutputOfAsync(params string[] arguments)
    {
        var (exitCode, output) = await RunAsync(arguments);
        Assert.True(exitCode == 0, $"podman {string.Join(' ', arguments)} exited {exitCode}:\n{output}");
        return output.Trim();
    }
}

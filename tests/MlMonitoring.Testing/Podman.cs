namespace MlMonitoring.Testing;

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
    public static async Task<(int ExitCode, string Output)> RunAsync(params string[] arguments) =>
        await ExternalProcess.RunAsync(Executable(), [.. GlobalOptions, .. arguments], separateStderr: true, environment: Environment());

    /// <summary>Starts <c>podman</c> with <paramref name="arguments"/> and leaves it running (a container in the foreground).</summary>
    public static ExternalProcess Start(params string[] arguments) =>
        ExternalProcess.Start(Executable(), [.. GlobalOptions, .. arguments], Environment());

    private static readonly string[] GlobalOptions = ["--storage-driver", "vfs", "--runtime", "runc"];

    private static string Executable()
    {
        ExternalProcess.Require("runc", "runc");
        return ExternalProcess.Require("podman", "podman runc");
    }

    private static Dictionary<string, string> Environment() => new() { ["CONTAINERS_CONF"] = Configuration.Value };

    /// <summary>Runs <c>podman</c> and returns its output; fails the test if it fails.</summary>
    public static async Task<string> OutputOfAsync(params string[] arguments)
    {
        var (exitCode, output) = await RunAsync(arguments);
        Assert.True(exitCode == 0, $"podman {string.Join(' ', arguments)} exited {exitCode}:\n{output}");
        return output.Trim();
    }
}


namespace MlMonitoring.Client.Tests;

/// <summary>
/// The Python client as a user gets it: installed with pip from the repository, offline, into a venv over Debian's
/// python3, built as a wheel, and its own tests (clients/python/tests) run against the installed package and the
/// real sidecar.
/// </summary>
[Trait("Parts", "Real")]
public sealed class PythonClientTests : IDisposable
{
    private const string DebianPython = "/usr/bin/python3";
    private readonly string _work = Directory.CreateTempSubdirectory("mlmonitoring-python-").FullName;

    [Fact]
    public async Task The_python_client_installs_with_pip_offline_and_its_tests_pass_against_the_installed_package()
    {
        Assert.True(File.Exists(DebianPython), "/usr/bin/python3 is missing: apt-get install -y python3 python3-venv python3-setuptools python3-wheel python3-grpcio python3-protobuf python3-sklearn");

        // A copy, so that the build's egg-info and build folders do not land in the checkout.
        var source = Path.Combine(_work, "python");
        CopyDirectory(Repository.PathOf("clients", "python"), source, skip: ["tests", "build", "__pycache__"]);
        var venv = Path.Combine(_work, "venv");
        var pip = Path.Combine(venv, "bin", "pip");
        await RunAsync(DebianPython, "-m", "venv", "--system-site-packages", venv);
        await RunAsync(pip, "install", "--no-index", "--no-build-isolation", source);
        var wheels = Path.Combine(_work, "dist");
        await RunAsync(pip, "wheel", "--no-index", "--no-build-isolation", "--no-deps", "-w", wheels, source);
        Assert.Single(Directory.GetFiles(wheels, "mlmonitoring-*-py3-none-any.whl"));

        var tests = Repository.PathOf("clients", "python", "tests");
        var environment = new Dictionary<string, string>
        {
            ["MLMONITORING_SIDECAR"] = SidecarProcess.Executable,
            ["MLMONITORING_EXPECT_INSTALLED"] = "1",
            // Only the tests' own helpers: the package itself must come from the venv.
            ["PYTHONPATH"] = tests,
        };
        var output = await RunAsync(Path.Combine(venv, "bin", "python"), ["-m", "unittest", "discover", "-v", "-s", tests], environment, TimeSpan.FromMinutes(5));

        Assert.Contains("OK", output, StringComparison.Ordinal);
        Assert.DoesNotContain("skipped", output, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("test_the_package_comes_from_the_installed_distribution", output, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_work, recursive: true);

    private Task<string> RunAsync(string fileName, params string[] arguments) => RunAsync(fileName, arguments, null, TimeSpan.FromMinutes(2));

    private async Task<string> RunAsync(string fileName, string[] arguments, IDictionary<string, string>? environment, TimeSpan timeout)
    {
        await using var run = ExternalProcess.Start(fileName, arguments, environment, workingDirectory: _work);
        var exitCode = await run.WaitForExitAsync(timeout);
        Assert.True(exitCode == 0, $"{fileName} {string.Join(' ', arguments)} exited with {exitCode}:\n{run.Output}");
        return run.Output;
    }

    private static void CopyDirectory(string from, string to, string[] skip)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        foreach (var directory in Directory.GetDirectories(from))
        {
            var name = Path.GetFileName(directory);
            if (!skip.Contains(name) && !name.EndsWith(".egg-info", StringComparison.Ordinal))
            {
                CopyDirectory(directory, Path.Combine(to, name), skip);
            }
        }
    }
}

using MlMonitoring.Sidecar.Tests.Infrastructure;

namespace MlMonitoring.Client.Tests;

/// <summary>The Python client's own tests (clients/python/tests), run with Debian's python3 against the real sidecar.</summary>
public sealed class PythonClientTests
{
    [Fact]
    public async Task The_python_client_tests_pass_with_debians_grpcio_and_protobuf()
    {
        const string python = "/usr/bin/python3";
        Assert.True(File.Exists(python), "/usr/bin/python3 is missing: apt-get install -y python3 python3-grpcio python3-protobuf python3-sklearn");
        var environment = new Dictionary<string, string>
        {
            ["MLMONITORING_SIDECAR_DLL"] = SidecarProcess.DllPath,
            ["PYTHONPATH"] = $"{Repository.PathOf("clients", "python")}:{Repository.PathOf("clients", "python", "tests")}",
        };

        await using var run = ExternalProcess.Start(python, ["-m", "unittest", "discover", "-v", "-s", Repository.PathOf("clients", "python", "tests")], environment);
        var exitCode = await run.WaitForExitAsync(TimeSpan.FromMinutes(5));

        Assert.True(exitCode == 0, run.Output);
        Assert.Contains("OK", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("skipped", run.Output, StringComparison.OrdinalIgnoreCase);
    }
}

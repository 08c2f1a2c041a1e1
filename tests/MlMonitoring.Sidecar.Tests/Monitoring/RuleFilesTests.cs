
namespace MlMonitoring.Sidecar.Tests.Monitoring;

/// <summary>Every rule file under monitoring/ is judged by promtool: valid, and its unit tests pass.</summary>
[Trait("Parts", "Real")]
public sealed class RuleFilesTests
{
    private static readonly string RulesDirectory = MlMonitoring.Testing.RuleFiles.Directory;

    public static TheoryData<string> RuleFileNames => [.. MlMonitoring.Testing.RuleFiles.Names()];

    public static TheoryData<string> RuleTests => [.. Directory.GetFiles(RulesDirectory, "*.test.yaml").Select(f => Path.GetFileName(f))];

    [Theory]
    [MemberData(nameof(RuleFileNames))]
    public async Task Rule_file_passes_promtool_check_rules(string file)
    {
        var (exitCode, output) = await ExternalProcess.RunAsync(ExternalProcess.Require("promtool", "prometheus"), ["check", "rules", Path.Combine(RulesDirectory, file)]);

        Assert.True(exitCode == 0, output);
    }

    [Theory]
    [MemberData(nameof(RuleTests))]
    public async Task Rule_unit_tests_pass(string file)
    {
        var (exitCode, output) = await ExternalProcess.RunAsync(
            ExternalProcess.Require("promtool", "prometheus"), ["test", "rules", file], workingDirectory: RulesDirectory);

        Assert.True(exitCode == 0, output);
        Assert.Contains("SUCCESS", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_rule_file_has_unit_tests()
    {
        // The rule files the project ships, named: a wrong folder or a lost file fails here instead of passing on nothing.
        Assert.Equal(["ml-canary.yaml", "ml-fleet.yaml", "ml-model-alerts.yaml", "slo-generated.yaml"], MlMonitoring.Testing.RuleFiles.Names().Order());
        foreach (var file in MlMonitoring.Testing.RuleFiles.Names())
        {
            Assert.True(File.Exists(Path.Combine(RulesDirectory, Path.ChangeExtension(file, ".test.yaml"))), $"{file} has no .test.yaml");
        }
    }
}

using MlMonitoring.Sidecar.Slo;
using MlMonitoring.Sidecar.Tests.Infrastructure;

namespace MlMonitoring.Sidecar.Tests.Slo;

public sealed class SloRulesTests
{
    private static readonly string SloFile = Repository.PathOf("monitoring", "slo", "slo.yaml");
    private static readonly string GeneratedRules = Repository.PathOf("monitoring", "prometheus", "rules", "slo-generated.yaml");

    [Fact]
    public void The_committed_slo_rules_are_what_the_generator_writes_from_the_slo_file()
    {
        var generated = SloRuleGenerator.Generate(SloDocument.Load(SloFile), "monitoring/slo/slo.yaml");

        Assert.True(generated == File.ReadAllText(GeneratedRules),
            "monitoring/prometheus/rules/slo-generated.yaml is stale: run `dotnet run --project src/MlMonitoring.Sidecar -- slo generate monitoring/slo/slo.yaml --output monitoring/prometheus/rules/slo-generated.yaml`");
    }

    [Fact]
    public void The_slo_file_gives_the_guides_objectives_and_an_llms_time_to_first_token()
    {
        var objectives = SloDocument.Load(SloFile);

        Assert.Equal(
            [
                new ServiceLevelObjective("fraud_detector", "availability", 0.999, TimeSpan.FromDays(30)),
                new ServiceLevelObjective("fraud_detector", "latency_p99", 0.99, TimeSpan.FromDays(30), 0.1),
                new ServiceLevelObjective("fraud_detector", "latency_p50", 0.5, TimeSpan.FromDays(30), 0.02),
                new ServiceLevelObjective("fraud_detector", "accuracy", 0.95, TimeSpan.FromDays(7)),
                new ServiceLevelObjective("chat_assistant", "availability", 0.995, TimeSpan.FromDays(30)),
                new ServiceLevelObjective("chat_assistant", "ttft_p95", 0.95, TimeSpan.FromDays(30), 0.3),
            ],
            objectives);
        Assert.Equal(SloKind.TimeToFirstToken, objectives[^1].Kind);
    }

    [Theory]
    [InlineData("slos: {m: {availability: {target: 150}}}", "slos.m.availability.target")]
    [InlineData("slos: {m: {latency: {p99_target_ms: -3}}}", "slos.m.latency.p99_target_ms")]
    [InlineData("slos: {m: {time_to_first_token: {p95_target_ms: fast}}}", "slos.m.time_to_first_token.p95_target_ms")]
    [InlineData("slos: {m: {accuracy: {target: 0.9, window: soon}}}", "slos.m.accuracy.window")]
    [InlineData("models: {}", "slos:")]
    public void A_bad_slo_file_is_refused_naming_the_field(string yaml, string named)
    {
        var error = Assert.Throws<FormatException>(() => SloDocument.Parse(new StringReader(yaml)));

        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_command_line_writes_rules_that_promtool_accepts()
    {
        var output = Path.Combine(Directory.CreateTempSubdirectory("mlmon-slo-").FullName, "rules.yaml");
        var (exitCode, printed) = await ExternalProcess.RunAsync(SidecarProcess.Executable, ["slo", "generate", SloFile, "--output", output]);

        Assert.True(exitCode == 0, printed);
        var (checkCode, checkOutput) = await ExternalProcess.RunAsync(ExternalProcess.Require("promtool", "prometheus"), ["check", "rules", output]);
        Assert.True(checkCode == 0, checkOutput);
        Assert.Contains("SUCCESS: 72 rules found", checkOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_command_line_explains_its_usage_and_a_bad_file()
    {
        var bad = Path.Combine(Directory.CreateTempSubdirectory("mlmon-slo-").FullName, "slo.yaml");
        await File.WriteAllTextAsync(bad, "slos: {m: {availability: {target: 0}}}");

        var usage = await ExternalProcess.RunAsync(SidecarProcess.Executable, ["slo"]);
        var refused = await ExternalProcess.RunAsync(SidecarProcess.Executable, ["slo", "generate", bad]);

        Assert.Equal(2, usage.ExitCode);
        Assert.Contains("usage: MlMonitoring.Sidecar slo generate", usage.Output, StringComparison.Ordinal);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("slos.m.availability.target", refused.Output, StringComparison.Ordinal);
    }
}

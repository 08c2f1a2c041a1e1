using MlMonitoring.Sidecar.Slo;
using MlMonitoring.Sidecar.Tests.Infrastructure;

namespace MlMonitoring.Sidecar.Tests.Slo;

[Trait("Parts", "Real")]
public sealed class SloRulesTests
{
    private static readonly string SloFile = Repository.PathOf("monitoring", "slo", "slo.yaml");
    private static readonly string GeneratedRules = Repository.PathOf("monitoring", "prometheus", "rules", "slo-generated.yaml");

    [Fact]
    public void The_committed_slo_rules_are_what_the_generator_writes_from_the_slo_file()
    {
        var generated = SloRuleGenerator.Generate(SloDocument.Load(SloFile), "monitoring/slo/slo.yaml");

        Assert.True(generated == File.ReadAllText(GeneratedRules),
            "monitoring/prometheus/rules/slo-generated.yaml is stale: run `artifacts/sidecar/MlMonitoring.Sidecar slo generate monitoring/slo/slo.yaml --output monitoring/prometheus/rules/slo-generated.yaml`");
    }

    [Fact]
    public void The_slo_file_gives_the_guides_objectives_and_an_llms_time_to_first_token()
    {
        var objectives = SloDocument.Load(SloFile);

        Assert.Equal(
            [
                new ServiceLevelObjective("fraud-detector", "availability", 0.999, TimeSpan.FromDays(30)),
                new ServiceLevelObjective("fraud-detector", "latency_p99", 0.99, TimeSpan.FromDays(30), 0.1),
                new ServiceLevelObjective("fraud-detector", "latency_p50", 0.5, TimeSpan.FromDays(30), 0.02),
                new ServiceLevelObjective("fraud-detector", "accuracy", 0.95, TimeSpan.FromDays(7)),
                new ServiceLevelObjective("chat_assistant", "availability", 0.995, TimeSpan.FromDays(30)),
                new ServiceLevelObjective("chat_assistant", "ttft_p95", 0.95, TimeSpan.FromDays(30), 0.3),
            ],
            objectives);
        Assert.Equal(SloKind.TimeToFirstToken, objectives[^1].Kind);
    }

    [Theory]
    [InlineData("slos:\n  m:\n    latency:\n      p99_targt_ms: 100\n", "slo.yaml:4:7: slos.m.latency.p99_targt_ms: unknown key; did you mean p99_target_ms? (expected one of p99_target_ms, p95_target_ms, p90_target_ms, p50_target_ms, window)")]
    [InlineData("slos:\n  m:\n    availabilty: {target: 99.9}\n", "slo.yaml:3:5: slos.m.availabilty: unknown key; did you mean availability? (expected one of model_name, availability, latency, time_to_first_token, accuracy)")]
    [InlineData("slos:\n  m:\n    latency: {window: 30d}\n", "slo.yaml:3:14: slos.m.latency: no target; give p99_target_ms or p95_target_ms or p90_target_ms or p50_target_ms")]
    [InlineData("slos:\n  m:\n    availability: {target: 99.9\n", "slo.yaml:4:1: ")]
    public void A_mistake_in_an_slo_file_is_named_with_its_line_and_column(string yaml, string message)
    {
        var error = Assert.Throws<FormatException>(() => SloDocument.Parse(new StringReader(yaml)));

        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_documented_command_works_from_the_repository_root_and_a_missing_file_says_where_it_was_looked_for()
    {
        var (exitCode, rules) = await ExternalProcess.RunAsync(
            SidecarProcess.Executable, ["slo", "generate", "monitoring/slo/slo.yaml"], separateStderr: true, workingDirectory: Repository.PathOf());
        var (missingCode, missing) = await ExternalProcess.RunAsync(
            SidecarProcess.Executable, ["slo", "generate", "monitoring/slo/nope.yaml"], workingDirectory: Repository.PathOf());

        Assert.Equal(0, exitCode);
        Assert.Equal(File.ReadAllText(GeneratedRules), rules);
        Assert.Equal(1, missingCode);
        Assert.Contains($"relative paths are read from {Repository.PathOf()}", missing, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_sidecar_whose_slo_names_a_model_that_sends_nothing_says_so_naming_the_models_seen()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("mlmon-slo-").FullName, "slo.yaml");
        await File.WriteAllTextAsync(file, "slos:\n  fraud_detector:\n    availability: {target: 99.9}\n");
        await using var sidecar = await SidecarProcess.StartAsync(new Dictionary<string, string>
        {
            ["Monitoring__SloFile"] = file,
            ["Monitoring__StatusWindow"] = "00:00:01",
        });
        sidecar.Logs.Expected.Add("The SLO file names model 'fraud_detector'");

        await sidecar.CreateMonitorClient().RecordPredictionAsync(Events.Classified("fraud-detector", "v1", "legit", 0.9));

        await Eventually.AssertAsync(() =>
        {
            Assert.Contains("The SLO file names model 'fraud_detector', which sent no prediction in 00:00:01", sidecar.Output, StringComparison.Ordinal);
            Assert.Contains("Models seen: fraud-detector", sidecar.Output, StringComparison.Ordinal);
            return Task.CompletedTask;
        });
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
        // Per SLO and window an error ratio and its events; per SLO the objective, the budget left and two alerts.
        Assert.Contains("SUCCESS: 120 rules found", checkOutput, StringComparison.Ordinal);
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

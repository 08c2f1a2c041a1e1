
namespace MlMonitoring.Sidecar.Tests.Monitoring;

/// <summary>monitoring/alertmanager/alertmanager.yml, checked and routed by Alertmanager's own amtool.</summary>
[Trait("Parts", "Real")]
public sealed class AlertRoutingTests
{
    private static readonly string Config = Repository.PathOf("monitoring", "alertmanager", "alertmanager.yml");

    [Fact]
    public async Task The_configuration_is_valid()
    {
        var (exitCode, output) = await ExternalProcess.RunAsync(ExternalProcess.Require("amtool", "prometheus-alertmanager"), ["check-config", Config]);

        Assert.True(exitCode == 0, output);
    }

    [Theory]
    [InlineData("on-call", "alertname=MLModelHighErrorRate", "severity=critical")]
    [InlineData("on-call", "alertname=MLModelDown", "severity=critical", "action=page")]
    [InlineData("on-call", "alertname=MLModelHighLatency", "severity=warning")]
    [InlineData("on-call", "alertname=MLModelSLOBurnRateCritical", "severity=critical", "slo=latency_p99", "action=page")]
    [InlineData("retrain", "alertname=MLModelAccuracyLow", "severity=warning", "action=retrain")]
    [InlineData("retrain", "alertname=MLModelFeatureDrift", "severity=warning", "action=retrain")]
    [InlineData("retrain", "alertname=MLModelSLOBurnRateWarning", "severity=warning", "slo=accuracy", "action=retrain")]
    [InlineData("rollback", "alertname=MLModelErrorBudgetBurn", "severity=critical", "action=rollback", "model_version=v2-canary")]
    [InlineData("ml-team", "alertname=MLModelPredictionSkew", "severity=warning", "action=investigate")]
    public async Task Alerts_are_routed_by_action_and_severity(string receiver, params string[] labels)
    {
        var (exitCode, output) = await ExternalProcess.RunAsync(
            ExternalProcess.Require("amtool", "prometheus-alertmanager"),
            ["config", "routes", "test", $"--config.file={Config}", $"--verify.receivers={receiver}", .. labels]);

        Assert.True(exitCode == 0, output);
    }
}

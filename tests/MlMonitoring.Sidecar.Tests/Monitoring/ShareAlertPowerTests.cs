using System.Globalization;
using Xunit.Abstractions;

namespace MlMonitoring.Sidecar.Tests.Monitoring;

/// <summary>
/// What the alerts on a share catch, by exact enumeration of the binomial distribution (scipy): for each line of the
/// shipped rules and a window of 100, 1,000 and 10,000 predictions (labels, for accuracy), the share at which the
/// alert's condition holds at 90% of evaluations, and its false-alarm rate at the line itself.
/// </summary>
[Trait("Parts", "Real")]
public sealed class ShareAlertPowerTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Each_alert_on_a_share_holds_its_false_alarms_at_the_line_and_catches_a_share_nearer_it_with_more_predictions()
    {
        (string Alert, double Line, string Direction)[] alerts =
        [
            ("MLModelHighErrorRate", 0.01, "above"),
            ("MLModelHighLatency (slower than 500 ms)", 0.01, "above"),
            ("MLModelErrorBudgetBurn", 0.0144, "above"),
            ("MLModelPredictionSkew (top class)", 0.95, "above"),
            ("MLModelLowConfidence (at or under 0.6)", 0.25, "above"),
            ("MLModelAccuracyLow (accuracy)", 0.85, "below"),
        ];
        int[] ns = [100, 1_000, 10_000];
        var reference = await PythonReference.RunAsync("share_alert_power_reference.py", new
        {
            evidence = Math.Log(20),
            ns,
            lines = alerts.Select(a => new { line = a.Line, direction = a.Direction }),
        });

        for (var i = 0; i < alerts.Length; i++)
        {
            var rows = reference[i]!["by_n"]!.AsArray();
            var caught = rows.Select(r => r!["caught_at_90"]?.GetValue<double>()).ToArray();
            var falseAlarms = rows.Select(r => r!["false_alarms_at_line"]!.GetValue<double>()).ToArray();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{alerts[i].Alert}, line {alerts[i].Line}: caught at 90% at {string.Join(" / ", caught.Select(c => c?.ToString("0.0000", CultureInfo.InvariantCulture) ?? "never"))} for n = 100 / 1,000 / 10,000; false alarms at the line {string.Join(" / ", falseAlarms.Select(f => f.ToString("P2", CultureInfo.InvariantCulture)))}"));

            Assert.All(falseAlarms, f => Assert.InRange(f, 0, 0.05));
            var distances = caught.Select(c => Math.Abs(c!.Value - alerts[i].Line)).ToArray();
            Assert.True(distances[0] > distances[1] && distances[1] > distances[2], $"{alerts[i].Alert}: {string.Join(", ", distances)}");
        }
    }
}

using System.Globalization;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace MlMonitoring.Sidecar.Tests.Monitoring;

/// <summary>
/// MLModelAccuracyLow's error rates, by exact enumeration of the binomial distribution (scipy) with the target and
/// evidence threshold read from the shipped rule: a version at the target fires at most 5% of evaluations at every
/// number of labels from 10 to 10,000, and one at 0.70 is caught on 150 labels.
/// </summary>
[Trait("Parts", "Real")]
public sealed partial class AccuracyAlertTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_version_at_the_target_is_flagged_at_most_five_percent_of_the_time_at_every_label_count()
    {
        var rules = await File.ReadAllTextAsync(Repository.PathOf("monitoring", "prometheus", "rules", "ml-model-alerts.yaml"));
        var rule = AccuracyRule().Match(rules);
        Assert.True(rule.Success, "MLModelAccuracyLow's expression changed shape");
        var (target, evidence) = (double.Parse(rule.Groups[1].Value, CultureInfo.InvariantCulture), double.Parse(rule.Groups[2].Value, CultureInfo.InvariantCulture));
        Assert.Equal(Math.Log(20), evidence, 1e-12); // α = 0.05 per evaluation

        int[] ns = [.. Enumerable.Range(10, 491), .. Enumerable.Range(0, 96).Select(i => 500 + (i * 100)), 10_000];
        var reference = await PythonReference.RunAsync("accuracy_alert_reference.py", new
        {
            target,
            evidence,
            ns,
            true_accuracies = new[] { target, 0.87, 0.80, 0.70 },
        });

        double Max(string accuracy) => reference[accuracy]!["max"]!.GetValue<double>();
        double At(string accuracy, int n) => reference[accuracy]!["by_n"]![Array.IndexOf(ns, n)]!.GetValue<double>();
        output.WriteLine($"false alarms at {target}: at most {Max("0.85"):P2} of evaluations over n = 10..10,000; at 0.87: {Max("0.87"):P4}");
        output.WriteLine($"caught at 0.80 with 100/1,000/10,000 labels: {At("0.8", 100):P1}, {At("0.8", 1000):P1}, {At("0.8", 10_000):P1}; at 0.70 with 100/150: {At("0.7", 100):P1}, {At("0.7", 150):P1}");

        Assert.InRange(Max("0.85"), 0.0001, 0.05);
        Assert.True(Max("0.87") < Max("0.85"));
        Assert.True(At("0.7", 150) >= 0.9, $"0.70 on 150 labels caught {At("0.7", 150):P1} of the time");
    }

    [GeneratedRegex(@"model_version:ml_model_accuracy:fleet < ([0-9.]+)\s+and on \(model_name, model_version\)\s+model_version:ml_model_accuracy_evidence:fleet >= ([0-9.]+)")]
    private static partial Regex AccuracyRule();
}

using Xunit.Abstractions;

namespace MlMonitoring.Sidecar.Tests.Monitoring;

/// <summary>
/// The canary verdict's error rates over whole rollouts (numpy): a candidate at 10% of the traffic, read at 40 looks
/// a minute apart, each look applying the checks of ml-canary.yaml, the first 1 or -1 ending the run. Identical
/// versions (A/A) must fail at most 5% of runs; a candidate five points less accurate must fail.
/// </summary>
[Trait("Parts", "Real")]
public sealed class CanaryReplayTests(ITestOutputHelper output)
{
    private static readonly object Healthy = new
    {
        accuracy = 0.9,
        error_rate = 0.01,
        slow_share = 0.005,
        classes = new[] { 0.7, 0.2, 0.1 },
        confidence = new[] { 0.05, 0.05, 0.1, 0.1, 0.2, 0.2, 0.2, 0.1 },
    };

    [Fact]
    public async Task Identical_versions_fail_at_most_five_percent_of_forty_look_rollouts()
    {
        var result = await ReplayAsync(Healthy, runs: 1_000);
        output.WriteLine($"A/A, 10% canary, 40 looks, 2,000 predictions a minute, half labelled: fail {result.Fail:P1}, pass {result.Pass:P1}, still 0 at the last look {result.Undecided:P1}; median candidate labels at a decision {result.Labels}");
        Assert.True(result.Fail <= 0.05, $"A/A runs failed {result.Fail:P1}");
    }

    [Fact]
    public async Task A_candidate_five_points_less_accurate_fails()
    {
        var result = await ReplayAsync(new
        {
            accuracy = 0.85,
            error_rate = 0.01,
            slow_share = 0.005,
            classes = new[] { 0.7, 0.2, 0.1 },
            confidence = new[] { 0.05, 0.05, 0.1, 0.1, 0.2, 0.2, 0.2, 0.1 },
        }, runs: 300);
        output.WriteLine($"0.85 against 0.90, margin 0.02: fail {result.Fail:P1}, pass {result.Pass:P1}; median candidate labels when it failed {result.Labels}");
        Assert.True(result.Fail >= 0.9, $"failed {result.Fail:P1}");
        Assert.Equal(0, result.Pass);
    }

    private static async Task<(double Fail, double Pass, double Undecided, double? Labels)> ReplayAsync(object candidate, int runs)
    {
        // The level the shipped rules use: ln(1/α) = ln 100 in every check's boundary, and a mixing variance of 0.01.
        var rules = await File.ReadAllTextAsync(Repository.PathOf("monitoring", "prometheus", "rules", "ml-canary.yaml"));
        Assert.Contains("2 * 4.60517018598809", rules, StringComparison.Ordinal);
        Assert.DoesNotContain("2 * 2.99", rules, StringComparison.Ordinal);
        var result = await PythonReference.RunAsync("canary_replay_reference.py", new
        {
            seed = 29,
            runs,
            looks = 40,
            minutes_per_look = 1,
            predictions_per_minute = 2_000,
            canary_share = 0.1,
            label_share = 0.5,
            stable = Healthy,
            candidate,
            margins = new { accuracy = 0.02, errors = 0.005, slow = 0.01 },
            alpha_per_check = 0.01,
            confidence_bounds = 7,
            mixing = 0.01,
        });
        return (result["fail"]!.GetValue<double>(), result["pass"]!.GetValue<double>(), result["undecided"]!.GetValue<double>(), result["labels_at_decision"]?.GetValue<double>());
    }
}

using System.Globalization;
using System.Text.Json.Nodes;
using MlMonitoring.Sidecar.Drift;
using Xunit.Abstractions;

namespace MlMonitoring.Sidecar.Tests.Drift;

/// <summary>
/// The drift critical values against numpy and scipy: baselines and windows drawn by numpy, judged by the
/// sidecar's critical values, false alarms counted with a Clopper–Pearson interval; the binomial draws behind the
/// simulation compared with scipy's distribution.
/// </summary>
[Trait("Parts", "Real")]
public sealed class DriftCriticalValueTests(ITestOutputHelper output)
{
    private static readonly long[] Windows = [20, 50, 100, 700, 1_000, 10_000];

    [Theory]
    [InlineData("numeric", 10_000, 0.05)]
    [InlineData("numeric", 2_000, 0.01)]
    [InlineData("zipf", 2_000, 0.05)]
    [InlineData("zipf", 10_000, 0.01)]
    public async Task A_window_of_the_baselines_distribution_exceeds_its_critical_value_at_most_alpha_of_the_time(string kind, int baselineEvents, double alpha)
    {
        var config = new Dictionary<string, object>
        {
            ["kind"] = kind,
            ["baseline_events"] = baselineEvents,
            ["baselines"] = 300,
            ["seed"] = 20261207 + baselineEvents,
        };
        var drawn = await PythonReference.RunAsync("drift_alert_reference.py", new { step = "baselines", configs = new[] { config } });
        var baselines = drawn["baselines"]![0]!.AsArray().Select(b => b!.AsArray().Select(c => c!.GetValue<long>()).ToArray()).ToArray();

        var critical = new double[baselines.Length][];
        Parallel.For(0, baselines.Length, i =>
        {
            var factors = PsiCriticalValues.Factors(baselines[i], alpha);
            critical[i] = [.. Windows.Select(n => PsiCriticalValues.CriticalValue(factors, n, baselines[i].Sum()))];
        });

        config["step"] = "trials";
        config["windows"] = Windows;
        config["critical"] = critical;
        config["alpha"] = alpha;
        config["trials"] = 80;
        config["threshold"] = 0.25;
        config["shifts"] = kind == "numeric" ? new[] { 0.5, 1.0 } : Array.Empty<double>();
        var trials = await PythonReference.RunAsync("drift_alert_reference.py", new { step = "trials", configs = new[] { config } });

        foreach (var result in trials["results"]![0]!.AsArray())
        {
            var n = result!["n"]!.GetValue<long>();
            var rate = result["false_alarm_rate"]!.GetValue<double>();
            var interval = result["interval"]!.AsArray().Select(x => x!.GetValue<double>()).ToArray();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{kind} m={baselineEvents} α={alpha} n={n}: false alarms {rate:P2} [{interval[0]:P2}, {interval[1]:P2}]; χ² cutoff {result["chi2_rate"]!.GetValue<double>():P2}; PSI > 0.25 alone {result["threshold_rate"]!.GetValue<double>():P2}; critical {result["critical_median"]!.GetValue<double>():F4} (χ² {result["chi2_critical"]!.GetValue<double>():F4}); first baseline: sidecar {result["sidecar_critical_first"]!.GetValue<double>():F4}, numpy {result["numpy_critical_first"]!.GetValue<double>():F4}{Power(result["power"]!)}"));

            // Not above α beyond chance (a 99% interval), and not needlessly far below it where PSI is not discrete.
            Assert.True(interval[0] <= alpha, $"n = {n}: {rate:P2} of windows exceed the critical value at α = {alpha}");
            var ratio = result["sidecar_critical_first"]!.GetValue<double>() / result["numpy_critical_first"]!.GetValue<double>();
            Assert.InRange(ratio, 0.85, 1.35);
        }
    }

    [Fact]
    public async Task A_one_standard_deviation_shift_is_caught_in_a_window_of_100_events()
    {
        var config = new Dictionary<string, object> { ["kind"] = "numeric", ["baseline_events"] = 10_000, ["baselines"] = 100, ["seed"] = 7 };
        var drawn = await PythonReference.RunAsync("drift_alert_reference.py", new { step = "baselines", configs = new[] { config } });
        var baselines = drawn["baselines"]![0]!.AsArray().Select(b => b!.AsArray().Select(c => c!.GetValue<long>()).ToArray()).ToArray();

        // The default level shared by a version of a dozen signals.
        const double Alpha = 0.01 / 12;
        var critical = new double[baselines.Length][];
        Parallel.For(0, baselines.Length, i => critical[i] = [PsiCriticalValues.CriticalValue(PsiCriticalValues.Factors(baselines[i], Alpha), 100, baselines[i].Sum())]);
        config["step"] = "trials";
        config["windows"] = new[] { 100 };
        config["critical"] = critical;
        config["alpha"] = Alpha;
        config["trials"] = 40;
        config["threshold"] = 0.25;
        config["shifts"] = new[] { 1.0 };
        var trials = await PythonReference.RunAsync("drift_alert_reference.py", new { step = "trials", configs = new[] { config } });
        var caught = trials["results"]![0]![0]!["power"]!["1"]!["critical_and_threshold"]!.GetValue<double>();
        output.WriteLine($"1 sd at 100 events, α = 0.01/12: caught {caught:P1}");
        Assert.True(caught >= 0.9, $"caught {caught:P1}");
    }

    [Theory]
    [InlineData(8, 0.3)]
    [InlineData(40, 0.2)]
    [InlineData(1_000, 0.37)]
    [InlineData(1_000_000, 0.001)]
    [InlineData(123_456, 0.75)]
    public async Task Binomial_draws_follow_scipys_binomial_distribution(long trials, double p)
    {
        var sampler = new CountSampler(seed: 42);
        var draws = Enumerable.Range(0, 20_000).Select(_ => sampler.Binomial(trials, p)).ToArray();
        var reference = await PythonReference.RunAsync("binomial_reference.py", new { n = trials, p, draws });
        var pValue = reference["p_value"]!.GetValue<double>();
        output.WriteLine($"Bin({trials}, {p}): χ² goodness of fit p = {pValue:F4}");
        Assert.True(pValue > 0.001, $"Bin({trials}, {p}) draws differ from scipy's distribution (p = {pValue})");
    }

    [Fact]
    public void The_critical_value_interpolates_the_factor_in_log_window_size_between_grid_sizes()
    {
        double[] factors = [.. Enumerable.Range(1, PsiCriticalValues.WindowGrid.Length).Select(i => (double)i)];
        Assert.Equal(double.PositiveInfinity, PsiCriticalValues.CriticalValue(factors, 9, 1_000));
        Assert.Equal(1 * ((1.0 / 10) + (1.0 / 1_000)), PsiCriticalValues.CriticalValue(factors, 10, 1_000), 1e-15);
        // 80 and 160 are grid sizes 3 and 4 (factors 4 and 5); 113 is about halfway in ln n.
        Assert.Equal((4 + (Math.Log(113.0 / 80) / Math.Log(2))) * ((1.0 / 113) + (1.0 / 1_000)), PsiCriticalValues.CriticalValue(factors, 113, 1_000), 1e-15);
        Assert.Equal(5 * ((1.0 / 160) + (1.0 / 1_000)), PsiCriticalValues.CriticalValue(factors, 160, 1_000), 1e-15);
        Assert.Equal(18 * ((1.0 / 5_000_000) + (1.0 / 1_000)), PsiCriticalValues.CriticalValue(factors, 5_000_000, 1_000), 1e-15);
    }

    [Fact]
    public void The_same_baseline_gives_the_same_critical_values_on_every_replica()
    {
        long[] baseline = [1_010, 990, 1_003, 997, 1_000, 1_000, 1_020, 980, 1_000, 1_000];
        Assert.Equal(PsiCriticalValues.Factors(baseline, 0.01), PsiCriticalValues.Factors(baseline, 0.01));
        Assert.NotEqual(PsiCriticalValues.Factors(baseline, 0.01), PsiCriticalValues.Factors(baseline, 0.05));
    }

    private static string Power(JsonNode power) => string.Concat(power.AsObject().Select(p => string.Create(CultureInfo.InvariantCulture,
        $"; shift {p.Key} sd (population PSI {p.Value!["population_psi"]!.GetValue<double>():F3}): caught {p.Value["critical"]!.GetValue<double>():P1}, with PSI > 0.25 {p.Value["critical_and_threshold"]!.GetValue<double>():P1} (ncx2 {p.Value["ncx2_approximation"]!.GetValue<double>():P1})")));
}

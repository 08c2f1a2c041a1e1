using MlMonitoring.Sidecar.Drift;

namespace MlMonitoring.Sidecar.Tests.Drift;

[Trait("Parts", "Real")]
public sealed class DivergenceTests
{
    [Fact]
    public async Task Psi_and_js_equal_numpy_and_scipy_on_the_same_bins()
    {
        long[][] baselines = [[5000, 5000], [1200, 900, 0, 300, 7600], [10, 20, 30, 40, 50, 60, 70, 80, 90, 100], [3, 0, 0]];
        long[][] currents = [[9000, 1000], [1100, 1000, 50, 250, 7600], [100, 90, 80, 70, 60, 50, 40, 30, 20, 10], [0, 2, 9]];

        var reference = await PythonReference.RunAsync("drift_reference.py", new
        {
            signals = baselines.Zip(currents).Select(p => new { baseline = p.First, current = p.Second }),
        });

        for (var i = 0; i < baselines.Length; i++)
        {
            var p = Divergence.Proportions(currents[i]);
            var q = Divergence.Proportions(baselines[i]);
            Assert.Equal(reference["signals"]![i]!["psi"]!.GetValue<double>(), Divergence.PopulationStabilityIndex(p, q), 1e-9);
            Assert.Equal(reference["signals"]![i]!["js"]!.GetValue<double>(), Divergence.JensenShannonDistance(p, q), 1e-9);
        }
    }

    [Fact]
    public void A_class_mix_moving_from_half_and_half_to_ninety_ten_has_psi_0_879()
    {
        var psi = Divergence.PopulationStabilityIndex(Divergence.Proportions([90_000, 10_000]), Divergence.Proportions([50_000, 50_000]));

        // (0.9 − 0.5) ln(0.9 / 0.5) + (0.1 − 0.5) ln(0.1 / 0.5), moved less than 1e-4 by the smoothing.
        Assert.Equal((0.4 * Math.Log(1.8)) + (0.4 * Math.Log(5)), psi, 1e-4);
    }

    [Fact]
    public void Identical_distributions_have_zero_divergence()
    {
        var p = Divergence.Proportions([10, 0, 30]);

        Assert.Equal(0, Divergence.PopulationStabilityIndex(p, p));
        Assert.Equal(0, Divergence.JensenShannonDistance(p, p));
    }
}

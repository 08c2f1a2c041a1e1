using System.Runtime.InteropServices;

namespace MlMonitoring.Sidecar.Drift;

/// <summary>
/// How large PSI grows by chance alone: the critical values a fleet's PSI must exceed before a drift alert, so that
/// a version that has not drifted raises one at a known rate whatever its traffic.
/// </summary>
/// <remarks>
/// <para>
/// Under no drift a window of n events and a baseline of m are two samples of one distribution, and PSI is about
/// (1/n + 1/m)·χ²(B − 1). That approximation fails where it matters most: small windows, sparse bins, many
/// categories, and the half-event smoothing, which shrinks PSI when counts are small. So the critical values are
/// simulated instead (a parametric bootstrap): baselines of m and windows of n drawn from the baseline's own
/// proportions, smoothed and compared exactly as the live ones, and the 1 − α quantile of their PSI taken at
/// each window size of <see cref="WindowGrid"/>.
/// </para>
/// <para>
/// The quantile is the upper end of its own 90% confidence interval among the draws, so the finite simulation errs
/// on the side of fewer alerts. Each value is exported divided by (1/n + 1/m), a factor that changes slowly with
/// n; for a window between two grid sizes the larger factor of the two is used, and Prometheus scales it by the
/// fleet's own n and m (<c>model_version_signal:ml_drift_psi_critical:fleet</c>).
/// </para>
/// </remarks>
internal static class PsiCriticalValues
{
    /// <summary>Window sizes simulated: 10 events, doubling to about 1.3 million. Smaller windows never alert.</summary>
    public static readonly long[] WindowGrid = [.. Enumerable.Range(0, 18).Select(i => 10L << i)];

    private const int MinDraws = 2_000;
    private const int MaxDraws = 100_000;

    /// <summary>The one-sided 90% normal quantile: how far below its expectation the allowed exceedances are set.</summary>
    private const double QuantileConfidenceZ = 1.2815515655446004;

    /// <summary>
    /// For each size of <see cref="WindowGrid"/>, the critical PSI at level <paramref name="alpha"/> divided by
    /// (1/n + 1/m); empty when the baseline has fewer than two bins or no events.
    /// </summary>
    /// <param name="baselineCounts">The baseline's events per bin.</param>
    /// <param name="alpha">The chance, per evaluation, that a window of the baseline's distribution exceeds the value.</param>
    public static double[] Factors(ReadOnlySpan<long> baselineCounts, double alpha)
    {
        long baselineEvents = 0;
        foreach (var count in baselineCounts)
        {
            baselineEvents += count;
        }

        var bins = baselineCounts.Length;
        if (bins < 2 || baselineEvents == 0)
        {
            return [];
        }

        var population = new double[bins];
        for (var i = 0; i < bins; i++)
        {
            population[i] = (double)baselineCounts[i] / baselineEvents;
        }

        var draws = (int)Math.Clamp(Math.Ceiling(20 / alpha), MinDraws, MaxDraws);
        var expected = alpha * draws;
        var exceedances = (int)Math.Max(0, Math.Floor(expected - (QuantileConfidenceZ * Math.Sqrt(expected * (1 - alpha)))));

        // The same baselines at every window size, drawn once with their smoothed proportions and logarithms: the
        // factors then differ between sizes by the windows only.
        var seed = (int)System.IO.Hashing.XxHash32.HashToUInt32(MemoryMarshal.AsBytes(baselineCounts));
        var baselineSampler = new CountSampler(seed);
        var windowSampler = new CountSampler(seed ^ 0x5bd1e995);
        var drawn = new long[bins];
        var baselineShares = new double[draws * bins];
        var baselineLogs = new double[draws * bins];
        for (var d = 0; d < draws; d++)
        {
            baselineSampler.Multinomial(baselineEvents, population, drawn);
            var shares = baselineShares.AsSpan(d * bins, bins);
            Divergence.Proportions(drawn, shares);
            for (var i = 0; i < bins; i++)
            {
                baselineLogs[(d * bins) + i] = Math.Log(shares[i]);
            }
        }

        var statistics = new double[draws];
        var windowShares = new double[bins];
        var atSize = new double[WindowGrid.Length];
        for (var g = 0; g < WindowGrid.Length; g++)
        {
            var windowEvents = WindowGrid[g];
            for (var d = 0; d < draws; d++)
            {
                windowSampler.Multinomial(windowEvents, population, drawn);
                Divergence.Proportions(drawn, windowShares);
                var psi = 0.0;
                for (var i = 0; i < bins; i++)
                {
                    psi += (windowShares[i] - baselineShares[(d * bins) + i]) * (Math.Log(windowShares[i]) - baselineLogs[(d * bins) + i]);
                }

                statistics[d] = psi;
            }

            Array.Sort(statistics);
            atSize[g] = statistics[draws - 1 - exceedances] / ((1.0 / windowEvents) + (1.0 / baselineEvents));
        }

        return atSize;
    }

    /// <summary>
    /// The critical PSI for a window of <paramref name="windowEvents"/> from <see cref="Factors"/>, as the fleet rule
    /// computes it: the factor interpolated linearly in ln n between the grid sizes around the window (the last
    /// one's beyond it), times (1/n + 1/m). Infinite below the first grid size, where no window is judged.
    /// </summary>
    public static double CriticalValue(ReadOnlySpan<double> factors, long windowEvents, long baselineEvents)
    {
        var lower = Array.BinarySearch(WindowGrid, windowEvents);
        lower = lower >= 0 ? lower : ~lower - 1;
        if (lower < 0 || lower >= factors.Length)
        {
            return double.PositiveInfinity;
        }

        var factor = factors[lower];
        if (lower + 1 < factors.Length)
        {
            var along = Math.Log((double)windowEvents / WindowGrid[lower]) / Math.Log((double)WindowGrid[lower + 1] / WindowGrid[lower]);
            factor += (factors[lower + 1] - factor) * along;
        }

        return factor * ((1.0 / windowEvents) + (1.0 / baselineEvents));
    }
}

namespace MlMonitoring.Sidecar.Drift;

/// <summary>
/// Population stability index and Jensen–Shannon distance between two binned distributions.
/// </summary>
/// <remarks>
/// Empty bins are smoothed with a pseudo-count of one half in every bin (Jeffreys' prior):
/// p_i = (c_i + 0.5) / (n + 0.5 B) over B bins. Without it, one bin that is empty on one side makes PSI infinite;
/// with it, a few thousand events per side move PSI by well under 0.001. Both measures use the smoothed proportions.
/// </remarks>
internal static class Divergence
{
    public const double PseudoCount = 0.5;

    public static double[] Proportions(ReadOnlySpan<long> counts)
    {
        var proportions = new double[counts.Length];
        Proportions(counts, proportions);
        return proportions;
    }

    /// <summary>The smoothed proportions of <paramref name="counts"/>, written into <paramref name="proportions"/>.</summary>
    public static void Proportions(ReadOnlySpan<long> counts, Span<double> proportions)
    {
        long total = 0;
        foreach (var count in counts)
        {
            total += count;
        }

        var denominator = total + (PseudoCount * counts.Length);
        for (var i = 0; i < counts.Length; i++)
        {
            proportions[i] = (counts[i] + PseudoCount) / denominator;
        }
    }

    /// <summary>PSI = Σ (p_i − q_i) ln(p_i / q_i), p the current and q the baseline proportions.</summary>
    public static double PopulationStabilityIndex(ReadOnlySpan<double> current, ReadOnlySpan<double> baseline)
    {
        var psi = 0.0;
        for (var i = 0; i < current.Length; i++)
        {
            psi += (current[i] - baseline[i]) * Math.Log(current[i] / baseline[i]);
        }

        return psi;
    }

    /// <summary>The square root of the Jensen–Shannon divergence in bits: 0 for equal distributions, 1 at most.</summary>
    public static double JensenShannonDistance(double[] p, double[] q)
    {
        var divergence = 0.0;
        for (var i = 0; i < p.Length; i++)
        {
            var m = (p[i] + q[i]) / 2;
            divergence += (p[i] * Math.Log2(p[i] / m)) + (q[i] * Math.Log2(q[i] / m));
        }

        return Math.Sqrt(Math.Max(0, divergence / 2));
    }
}

namespace MlMonitoring.Sidecar.Drift;

/// <summary>
/// Binomial and multinomial draws for the drift critical values' simulation: exact, and in constant expected time
/// whatever the number of trials, so that windows of a million events cost what windows of ten do.
/// </summary>
/// <remarks>
/// Small means (n·p below 10) use inversion of the cumulative distribution; larger ones Hörmann's transformed
/// rejection with squeeze (BTRS; W. Hörmann, "The generation of binomial random variates", J. Statist. Comput.
/// Simul. 46, 1993), whose acceptance test needs log-factorials only.
/// </remarks>
internal sealed class CountSampler(int seed)
{
    private const int LogFactorialTableSize = 256;
    private static readonly double[] LogFactorialTable = BuildLogFactorials();
    private readonly Random _random = new(seed);

    /// <summary>Counts of <paramref name="trials"/> draws over bins of the given probabilities (summing to 1).</summary>
    public void Multinomial(long trials, ReadOnlySpan<double> probabilities, Span<long> counts)
    {
        var remaining = trials;
        var mass = 1.0;
        for (var i = 0; i < probabilities.Length - 1; i++)
        {
            var share = mass <= 0 ? 1 : Math.Clamp(probabilities[i] / mass, 0, 1);
            counts[i] = remaining == 0 ? 0 : Binomial(remaining, share);
            remaining -= counts[i];
            mass -= probabilities[i];
        }

        counts[^1] = remaining;
    }

    /// <summary>The number of successes in <paramref name="trials"/> trials of probability <paramref name="p"/>.</summary>
    public long Binomial(long trials, double p)
    {
        if (p <= 0 || trials == 0)
        {
            return 0;
        }

        if (p >= 1)
        {
            return trials;
        }

        // Both methods want p ≤ ½; the count of failures of the complement is the same draw.
        return p > 0.5 ? trials - Draw(trials, 1 - p) : Draw(trials, p);
    }

    private long Draw(long n, double p) => n * p < 10 ? Inversion(n, p) : TransformedRejection(n, p);

    private long Inversion(long n, double p)
    {
        var q = 1 - p;
        var ratio = p / q;
        var scale = (n + 1) * ratio;
        var probability = Math.Exp(n * Math.Log(q));
        var u = _random.NextDouble();
        long k = 0;
        while (u > probability && k < n)
        {
            u -= probability;
            k++;
            probability *= (scale / k) - ratio;
        }

        return k;
    }

    private long TransformedRejection(long n, double p)
    {
        var q = 1 - p;
        var spread = Math.Sqrt(n * p * q);
        var b = 1.15 + (2.53 * spread);
        var a = -0.0873 + (0.0248 * b) + (0.01 * p);
        var c = (n * p) + 0.5;
        var squeeze = 0.92 - (4.2 / b);
        var alpha = (2.83 + (5.1 / b)) * spread;
        var logOdds = Math.Log(p / q);
        var mode = Math.Floor((n + 1) * p);
        var logModeWeight = LogFactorial(mode) + LogFactorial(n - mode);
        while (true)
        {
            var u = _random.NextDouble() - 0.5;
            var v = _random.NextDouble();
            var us = 0.5 - Math.Abs(u);
            var k = Math.Floor((((2 * a / us) + b) * u) + c);
            if (k < 0 || k > n)
            {
                continue;
            }

            if (us >= 0.07 && v <= squeeze)
            {
                return (long)k;
            }

            var logV = Math.Log(v * alpha / ((a / (us * us)) + b));
            if (logV <= logModeWeight - LogFactorial(k) - LogFactorial(n - k) + ((k - mode) * logOdds))
            {
                return (long)k;
            }
        }
    }

    /// <summary>ln k!: from a table below 256, by Stirling's series above (error below 1e-15 there).</summary>
    internal static double LogFactorial(double k)
    {
        if (k < LogFactorialTableSize)
        {
            return LogFactorialTable[(int)k];
        }

        var inverse = 1 / k;
        var inverseSquared = inverse * inverse;
        return (k * Math.Log(k)) - k + (0.5 * Math.Log(2 * Math.PI * k))
            + (inverse * ((1.0 / 12) - (inverseSquared * ((1.0 / 360) - (inverseSquared / 1260)))));
    }

    private static double[] BuildLogFactorials()
    {
        var table = new double[LogFactorialTableSize];
        for (var k = 1; k < table.Length; k++)
        {
            table[k] = table[k - 1] + Math.Log(k);
        }

        return table;
    }
}

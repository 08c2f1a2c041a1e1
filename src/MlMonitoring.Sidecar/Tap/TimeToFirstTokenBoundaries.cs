namespace MlMonitoring.Sidecar.Tap;

/// <summary>
/// The bucket boundaries of <c>gen_ai.server.time_to_first_token</c>: the GenAI conventions' recommended ones, to
/// which the SLO capability adds every time-to-first-token target of the SLO file, so that "the share of streams
/// whose first token came within the target" is an exact ratio of two counters.
/// </summary>
internal sealed class TimeToFirstTokenBoundaries(IEnumerable<double> extraBoundaries)
{
    /// <summary>The conventions' recommended boundaries, in seconds.</summary>
    public static readonly double[] Recommended = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];

    /// <summary>The recommended boundaries alone.</summary>
    public TimeToFirstTokenBoundaries()
        : this([])
    {
    }

    /// <summary>In increasing order, without repeats.</summary>
    public double[] Values { get; } = [.. Recommended.Concat(extraBoundaries).Distinct().Order()];
}

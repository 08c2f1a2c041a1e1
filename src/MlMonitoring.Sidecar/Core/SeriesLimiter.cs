
namespace MlMonitoring.Sidecar.Core;

/// <summary>The label whose cardinality limit was reached; the <c>limit</c> label of the overflow self-metric.</summary>
internal enum SeriesLimit
{
    Models,
    Versions,
    Classes,
    Features,
    Categories,
    ErrorTypes,
    OutcomeKinds,
}

/// <summary>Holds the cardinality limits and counts each value folded into <c>__other__</c> or dropped.</summary>
internal sealed class SeriesLimiter(CardinalityLimits limits, SidecarMetrics selfMetrics)
{
    public CardinalityLimits Limits { get; } = limits;

    public void CountOverflow(SeriesLimit limit) => selfMetrics.CountOverflow(limit);
}

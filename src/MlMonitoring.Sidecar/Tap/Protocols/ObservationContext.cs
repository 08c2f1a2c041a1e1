using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Tap.Protocols;

/// <summary>What a protocol reader needs besides the call: the settings, the events to fill, and where to count a skipped body.</summary>
internal sealed class ObservationContext(TapOptions options, ObservedEvents events, TapMetrics metrics)
{
    public TapOptions Options { get; } = options;

    public ObservedEvents Events { get; } = events;

    public void Skip(SkipReason reason) => metrics.CountSkipped(reason);

    public TapModelMapping? MappingOf(string model) => Options.Models.GetValueOrDefault(model);

    /// <summary>The version recorded for a call: the one it carries, else the mapping's, else none (recorded as <c>unknown</c>).</summary>
    public string VersionOf(string model, string? carried) =>
        !string.IsNullOrEmpty(carried) ? carried : MappingOf(model)?.Version ?? string.Empty;

    /// <summary>
    /// The observable part of a body: null, with the skip counted, when it overflowed a bound or was compressed; an
    /// empty body is null without a count (an error answered without one).
    /// </summary>
    public ReadOnlyMemory<byte>? Observable(BodyCapture body)
    {
        if (body.Overflowed || body.OverBudget)
        {
            Skip(body.Overflowed ? SkipReason.BodyTooLarge : SkipReason.MemoryBudget);
            return null;
        }

        if (body.Length == 0)
        {
            // Not "cond ? null : body.Memory": null would convert to an empty ReadOnlyMemory, read as an unparsable body.
            return null;
        }

        if (body.Encoded)
        {
            Skip(SkipReason.Compressed);
            return null;
        }

        return body.Memory;
    }
}

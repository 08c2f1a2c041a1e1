using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Core;

/// <summary>
/// Limits the contract itself states, the same for predictions, labels and outcomes whichever way they came in,
/// and the builder of the per-item rejections a batch answer lists.
/// </summary>
internal static class ContractLimits
{
    /// <summary>Longest prediction id accepted; ids are opaque keys, not labels, so they may exceed name limits.</summary>
    public const int MaxPredictionIdLength = 256;

    /// <summary>Longest model name accepted, as the contract states.</summary>
    public const int MaxModelNameLength = 128;

    /// <summary>How many rejections one response lists; the count of rejections is always complete.</summary>
    public const int MaxListedRejections = 100;

    /// <summary>Unset, or a timestamp .NET can represent (years 1 to 9999, nanos within a second).</summary>
    public static bool IsValidTimestamp(Google.Protobuf.WellKnownTypes.Timestamp? time) =>
        time is null || IsValidTimestamp(time.Seconds, time.Nanos);

    /// <summary>Seconds and nanoseconds of a timestamp .NET can represent (years 1 to 9999, nanos within a second).</summary>
    public static bool IsValidTimestamp(long seconds, int nanos) =>
        nanos is >= 0 and < 1_000_000_000 && seconds is >= -62135596800 and <= 253402300799;

    /// <summary>Counts a refused item of a batch and, among the first <see cref="MaxListedRejections"/>, lists why.</summary>
    public static void Reject(RecordResponse response, int index, string reason)
    {
        response.Rejected++;
        if (response.Rejections.Count < MaxListedRejections)
        {
            response.Rejections.Add(new Rejection { Index = (uint)index, Reason = reason });
        }
    }

    /// <summary>
    /// Counts and lists an item refused for a passing reason, to be sent again. Always listed, past
    /// <see cref="MaxListedRejections"/> too: a client can only send again what it can name, and a batch is bounded.
    /// </summary>
    public static void RejectRetryable(RecordResponse response, int index, string reason)
    {
        response.Rejected++;
        response.Rejections.Add(new Rejection { Index = (uint)index, Reason = reason, Retryable = true });
    }
}

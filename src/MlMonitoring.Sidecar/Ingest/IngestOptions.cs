using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Ingest;

/// <summary>
/// The limits of the way in, at the root of the <c>Monitoring</c> section: how large a call may be and how many are
/// served at once, so that a flood is refused with a retry hint before it can hurt the model's pod.
/// </summary>
public sealed class IngestOptions
{
    /// <summary>The configuration section these settings are bound from.</summary>
    public const string SectionName = MonitoringOptions.SectionName;

    /// <summary>Most events one batch may carry. A larger batch is refused whole.</summary>
    [Range(1, 1_000_000)]
    public int MaxBatchSize { get; set; } = 10_000;

    /// <summary>Largest gRPC message accepted, in bytes; larger ones are answered RESOURCE_EXHAUSTED.</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxMessageBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Most gRPC calls served at once (a stream counts as one); past it, UNAVAILABLE with a retry hint.</summary>
    [Range(1, 100_000)]
    public int MaxConcurrentCalls { get; set; } = 256;

    /// <summary>
    /// Managed heap held above which calls and stream batches are refused with UNAVAILABLE until it shrinks; unset,
    /// no limit. Resident memory peaks above it under a flood, by what the collector has not yet reclaimed: leave
    /// room under the container's limit (docs/reliability-and-security.md).
    /// </summary>
    [Range(16L * 1024 * 1024, 64L * 1024 * 1024 * 1024)]
    public long? MaxHeapBytes { get; set; }
}

[OptionsValidator]
internal sealed partial class IngestOptionsValidator : IValidateOptions<IngestOptions>;

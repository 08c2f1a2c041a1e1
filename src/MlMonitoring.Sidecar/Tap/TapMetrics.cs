using System.Diagnostics.Metrics;
using MlMonitoring.Sidecar.Core;
using Tag = System.Collections.Generic.KeyValuePair<string, object?>;

namespace MlMonitoring.Sidecar.Tap;

/// <summary>Why an observation was given up; the call itself was forwarded untouched either way.</summary>
internal enum SkipReason
{
    /// <summary>A body was larger than <c>Monitoring:Tap:MaxObservedBodyBytes</c>.</summary>
    BodyTooLarge,

    /// <summary>A body could not be read as its protocol says (not JSON, not a message, an unexpected shape).</summary>
    Unparsable,

    /// <summary>The observer's queue was full.</summary>
    ObserverBehind,

    /// <summary>The client went away before the response ended.</summary>
    ClientDisconnected,

    /// <summary>A compressed gRPC message, or an HTTP body with a Content-Encoding: the tap does not decompress.</summary>
    Compressed,

    /// <summary>A binary tensor (Open Inference Protocol binary data extension or raw contents) the mapping needed.</summary>
    BinaryTensor,

    /// <summary>The copies of all calls already held <c>Monitoring:Tap:MaxCapturedBytes</c>.</summary>
    MemoryBudget,

    /// <summary>A call of more instances than <c>Monitoring:MaxBatchSize</c>: the first that many were recorded, the rest not.</summary>
    BatchTooLarge,
}

/// <summary>The tap's self-metrics: calls forwarded by operation, and observations skipped by reason.</summary>
internal sealed class TapMetrics
{
    private readonly Counter<long> _calls;
    private readonly Counter<long> _skipped;
    private readonly Tag[][] _callTags;
    private readonly Tag[][] _skipTags;

    /// <summary>Creates the counters, and with a <paramref name="budget"/> the gauge of the bytes it holds.</summary>
    /// <param name="meterFactory">Where the sidecar's meter comes from.</param>
    /// <param name="budget">The bytes held for observation (<c>Monitoring:Tap:MaxCapturedBytes</c>).</param>
    public TapMetrics(IMeterFactory meterFactory, CaptureBudget? budget = null)
    {
        var meter = meterFactory.Create(MeterNames.Sidecar);
        _calls = meter.CreateCounter<long>(
            "ml_sidecar_tap_calls", description: "Calls forwarded by the tap, by the operation recognised (none: passed through unobserved).");
        _skipped = meter.CreateCounter<long>(
            "ml_sidecar_tap_skipped", description: "Calls forwarded untouched whose observation was given up, by reason.");
        if (budget is not null)
        {
            meter.CreateObservableGauge(
                "ml_sidecar_tap_captured_bytes", () => budget.Held, unit: "By",
                description: "Bytes held for observation by calls in flight and waiting for the observer (bounded by Monitoring:Tap:MaxCapturedBytes).");
        }

        _callTags = [.. Enum.GetValues<TapOperation>().Select(o => new Tag[] { new("operation", OperationLabel(o)) })];
        _skipTags = [.. Enum.GetValues<SkipReason>().Select(r => new Tag[] { new("reason", ReasonLabel(r)) })];
    }

    public void CountCall(TapOperation operation) => _calls.Add(1, _callTags[(int)operation]);

    public void CountSkipped(SkipReason reason) => _skipped.Add(1, _skipTags[(int)reason]);

    public static string OperationLabel(TapOperation operation) => operation switch
    {
        TapOperation.OpenInferenceRest => "v2_infer",
        TapOperation.OpenInferenceGrpc => "v2_grpc_infer",
        TapOperation.KServeV1 => "v1_predict",
        TapOperation.ChatCompletions => "chat_completions",
        TapOperation.Completions => "completions",
        TapOperation.Embeddings => "embeddings",
        _ => "none",
    };

    public static string ReasonLabel(SkipReason reason) => reason switch
    {
        SkipReason.BodyTooLarge => "body_too_large",
        SkipReason.Unparsable => "unparsable",
        SkipReason.ObserverBehind => "observer_behind",
        SkipReason.ClientDisconnected => "client_disconnected",
        SkipReason.Compressed => "compressed",
        SkipReason.BinaryTensor => "binary_tensor",
        SkipReason.MemoryBudget => "memory_budget",
        _ => "batch_too_large",
    };
}

using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Tap;

/// <summary>
/// Settings under <c>Monitoring:Tap</c>: the sidecar stands in front of a model server that is not changed, forwards
/// every call to it and turns the inference calls it understands into prediction events.
/// </summary>
public sealed class TapOptions
{
    /// <summary>The configuration section these settings are bound from.</summary>
    public const string SectionName = "Monitoring:Tap";

    /// <summary>
    /// Where the tap listens for HTTP/1.1 traffic (Open Inference Protocol REST, KServe v1, OpenAI-compatible), for
    /// example <c>http://0.0.0.0:8080</c>; the pod's Service points here. Unset: no HTTP tap.
    /// </summary>
    public string? Listen { get; set; }

    /// <summary>The model server's HTTP address the tap forwards to, for example <c>http://127.0.0.1:8000</c>.</summary>
    public string? Upstream { get; set; }

    /// <summary>Where the tap listens for gRPC (HTTP/2 without TLS), for example <c>http://0.0.0.0:8081</c>. Unset: no gRPC tap.</summary>
    public string? GrpcListen { get; set; }

    /// <summary>The model server's gRPC address, for example <c>http://127.0.0.1:8001</c>.</summary>
    public string? GrpcUpstream { get; set; }

    /// <summary>Which protocol's calls are observed; every other call is forwarded unobserved. Default: all it knows.</summary>
    public TapProtocol Protocol { get; set; } = TapProtocol.Auto;

    /// <summary>
    /// Largest request or response body observed, in bytes. A larger body is forwarded all the same, unobserved, and
    /// counted (<c>ml_sidecar_tap_skipped_total{reason="body_too_large"}</c>). Each call in flight holds at most
    /// twice this much for observation.
    /// </summary>
    [Range(1024, 256 * 1024 * 1024)]
    public int MaxObservedBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Most bytes held for observation at once, by every call in flight and waiting for the observer together. Past
    /// it, a body's copy is given up (the call is forwarded all the same) and counted
    /// (<c>ml_sidecar_tap_skipped_total{reason="memory_budget"}</c>): however many large calls arrive together, what
    /// the tap holds for them stays within this. Default 64 MiB.
    /// </summary>
    [Range(1024 * 1024, 4L * 1024 * 1024 * 1024)]
    public long MaxCapturedBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Calls waiting to be observed; past it, calls are forwarded unobserved and counted (<c>observer_behind</c>).</summary>
    [Range(1, 1_000_000)]
    public int ObserverQueueCapacity { get; set; } = 1024;

    /// <summary>
    /// The request header holding the prediction id that labels and outcomes are later sent with. Without it on a
    /// call, the protocol's own id is used (<c>id</c> of an inference request or of an OpenAI response).
    /// </summary>
    [Required]
    public string PredictionIdHeader { get; set; } = "x-request-id";

    /// <summary>
    /// How long the upstream may stay silent (no response header, no body bytes) before the call fails with a
    /// timeout (504, or DEADLINE_EXCEEDED over gRPC). Default 100 s: a long generation streams all along.
    /// </summary>
    [TimeSpanRange("00:00:01", "01:00:00")]
    public TimeSpan UpstreamTimeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>
    /// <c>gen_ai.provider.name</c> of the GenAI metrics. Default <c>openai</c>, the flavour of the API observed; a
    /// platform serving vLLM may say <c>vllm</c>.
    /// </summary>
    [Required]
    public string GenAiProviderName { get; set; } = "openai";

    /// <summary>How the tensors of a model's calls map to a prediction, by model name.</summary>
    public Dictionary<string, TapModelMapping> Models { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Whether any tap listener is configured.</summary>
    public bool Enabled => Listen is not null || GrpcListen is not null;
}

/// <summary>Which calls the tap observes.</summary>
public enum TapProtocol
{
    /// <summary>Every protocol the tap knows, recognised by path.</summary>
    Auto,

    /// <summary>Open Inference Protocol (KServe v2) only, REST and gRPC.</summary>
    OpenInference,

    /// <summary>KServe v1 only (<c>:predict</c>).</summary>
    KServeV1,

    /// <summary>OpenAI-compatible only (chat completions, completions, embeddings).</summary>
    OpenAi,
}

/// <summary>
/// Under <c>Monitoring:Tap:Models:&lt;model&gt;</c>: where a model's prediction and features are in its tensors.
/// Without one, a call still gives an event per instance with its latency and error, but no class, value or features.
/// </summary>
public sealed class TapModelMapping
{
    /// <summary>The output holding the predicted class: an integer index (named by <see cref="ClassNames"/>) or a string label.</summary>
    public string? ClassOutput { get; set; }

    /// <summary>The output holding each instance's class probabilities (<c>[batch, classes]</c>); its top class is the prediction when <see cref="ClassOutput"/> is unset.</summary>
    public string? ProbabilitiesOutput { get; set; }

    /// <summary>The output holding a regression value (<c>[batch]</c> or <c>[batch, 1]</c>).</summary>
    public string? ValueOutput { get; set; }

    /// <summary>Class names by index, for class indices and probability columns.</summary>
    public string[]? ClassNames { get; set; }

    /// <summary>
    /// Inputs that are features. An input with one value per instance is a feature of its own name; one with several
    /// (<c>[batch, n]</c>) has its columns named by <see cref="FeatureNames"/>, or <c>&lt;input&gt;_&lt;i&gt;</c>. String
    /// (BYTES) inputs are categorical features. KServe v1 instances that are arrays are named by <see cref="FeatureNames"/>.
    /// </summary>
    public string[]? FeatureInputs { get; set; }

    /// <summary>Names of the columns of a multi-column feature input, or of a KServe v1 instance array.</summary>
    public string[]? FeatureNames { get; set; }

    /// <summary>
    /// The version recorded for calls that carry none (KServe v1, OpenAI-compatible, a v2 response without
    /// <c>model_version</c>). Default: <c>unknown</c>.
    /// </summary>
    public string? Version { get; set; }

    /// <summary>Which kind of prediction the outputs hold.</summary>
    public TapTask Task => ClassOutput is not null || ProbabilitiesOutput is not null || ClassNames is not null
        ? TapTask.Classification
        : ValueOutput is not null ? TapTask.Regression : TapTask.None;
}

/// <summary>The kind of prediction a mapping describes.</summary>
public enum TapTask
{
    /// <summary>No output mapped: latency, throughput and errors only.</summary>
    None,

    /// <summary>A class (and its probabilities).</summary>
    Classification,

    /// <summary>A number.</summary>
    Regression,
}

[OptionsValidator]
internal sealed partial class TapOptionsValidator : IValidateOptions<TapOptions>;

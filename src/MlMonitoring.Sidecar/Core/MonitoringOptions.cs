using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MlMonitoring.Sidecar.Core;

/// <summary>
/// Settings of the sidecar, bound from the <c>Monitoring</c> configuration section and validated at start:
/// a bad value stops the process with a message that names the setting.
/// </summary>
public sealed class MonitoringOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "Monitoring";

    /// <summary>Rolling window of the <c>ml_feature_value</c> statistics. Default 5 minutes.</summary>
    [TimeSpanRange("00:00:01", "1.00:00:00")]
    public TimeSpan FeatureWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Reads of the windowed figures closer together than this share one computation: a scrape reads several gauges
    /// of the same windows, which are merged once for all of them. Zero computes them at every read. Default 250 ms.
    /// </summary>
    [TimeSpanRange("00:00:00", "00:00:10")]
    public TimeSpan SnapshotReuse { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Window of the traffic figures of <c>GetModelStatus</c> (request and error rate, latency). Default 5 minutes.</summary>
    [TimeSpanRange("00:00:01", "1.00:00:00")]
    public TimeSpan StatusWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// An SLO file (the guide's slo.yaml format). Its latency targets become latency bucket boundaries, and the
    /// sidecar reports the SLOs' status itself.
    /// </summary>
    public string? SloFile { get; set; }

    /// <summary>Most events one batch may carry. A larger batch is refused whole.</summary>
    [Range(1, 1_000_000)]
    public int MaxBatchSize { get; set; } = 10_000;

    /// <summary>Largest gRPC message accepted, in bytes; larger ones are answered RESOURCE_EXHAUSTED.</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxMessageBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// Upper bounds of <c>ml_prediction_value</c> (regression outputs) for models without their own in
    /// <see cref="Models"/>.
    /// </summary>
    /// <remarks>
    /// Null until configured: the configuration binder appends to an array that already has elements, so the
    /// default lives in <see cref="DefaultRegressionBuckets"/> instead.
    /// </remarks>
    public double[]? RegressionBuckets { get; set; }

    /// <summary>The regression buckets without configuration.</summary>
    public static IReadOnlyList<double> DefaultRegressionBuckets { get; } = [0.1, 0.5, 1, 5, 10, 50, 100, 500, 1000];

    /// <summary>The global regression buckets in force.</summary>
    public IReadOnlyList<double> EffectiveRegressionBuckets => RegressionBuckets ?? DefaultRegressionBuckets;

    /// <summary>Settings of individual models, by model name.</summary>
    public Dictionary<string, ModelSettings> Models { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The join of delayed labels to predictions, and the quality computed from it.</summary>
    [ValidateObjectMembers]
    public GroundTruthOptions GroundTruth { get; set; } = new();

    /// <summary>Drift against a baseline captured from each model version's own production traffic.</summary>
    [ValidateObjectMembers]
    public DriftOptions Drift { get; set; } = new();

    /// <summary>The inference-protocol tap in front of an unchanged model server (off unless a listener is set).</summary>
    [ValidateObjectMembers]
    public TapOptions Tap { get; set; } = new();

    /// <summary>Settings under <c>Monitoring:Canary</c>: which version a candidate is judged against, and the margins.</summary>
    [ValidateObjectMembers]
    public CanaryOptions Canary { get; set; } = new();

    /// <summary>Settings under <c>Monitoring:Handover</c>: a stopping replica's windows, taken over by one that stays.</summary>
    [ValidateObjectMembers]
    public HandoverOptions Handover { get; set; } = new();

    /// <summary>Authentication of the endpoints (checked by the endpoint exposure validator).</summary>
    public SecurityOptions Security { get; set; } = new();

    /// <summary>How long a stopping sidecar waits for in-flight calls before it exits. Default 4 s (a native sidecar gets little time).</summary>
    [TimeSpanRange("00:00:00", "00:01:00")]
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(4);

    /// <summary>
    /// How long a stopping sidecar waits for its last OTLP export. Default 1 s: a hung backend must not hold the pod
    /// past its grace period; the cumulative counts it misses are re-sent by the replica that follows.
    /// </summary>
    [TimeSpanRange("00:00:00", "00:01:00")]
    public TimeSpan ExportFlushTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Serve the Prometheus scrape endpoint <c>/metrics</c>. Default on. Turn it off when OTLP carries the metrics:
    /// the OpenTelemetry SDK aggregates every measurement once per exporter, so the second costs about as much per
    /// event as the first (BenchmarkDotNet, BENCHMARKS.md).
    /// </summary>
    public bool PrometheusEndpoint { get; set; } = true;

    /// <summary>
    /// This sidecar is one of several replicas of a model version (a Deployment with more than one replica, or an
    /// autoscaler). Labels and outcomes then reach any replica, so the join store must be shared
    /// (<c>Monitoring:GroundTruth:Store=redis</c>); with a per-process store the start says so, as a warning.
    /// Fleet figures come from summing every replica's window counts (monitoring/prometheus/rules/ml-fleet.yaml).
    /// </summary>
    public bool Replicated { get; set; }

    /// <summary>Most gRPC calls served at once (a stream counts as one); past it, UNAVAILABLE with a retry hint.</summary>
    [Range(1, 100_000)]
    public int MaxConcurrentCalls { get; set; } = 256;

    /// <summary>
    /// Managed heap held above which calls and stream batches are refused with UNAVAILABLE until it shrinks; unset,
    /// no limit. Resident memory peaks above it under a flood, by what the collector has not yet reclaimed: leave
    /// room under the container's limit (the k8s example sets 64 MB under 256 MiB; RELIABILITY.md).
    /// </summary>
    [Range(16L * 1024 * 1024, 64L * 1024 * 1024 * 1024)]
    public long? MaxHeapBytes { get; set; }

    /// <summary>Cardinality limits: what a misbehaving client can add to the series count.</summary>
    [ValidateObjectMembers]
    public CardinalityLimits Limits { get; set; } = new();
}

/// <summary>Settings under <c>Monitoring:Security</c>.</summary>
public sealed class SecurityOptions
{
    /// <summary>
    /// A file holding the bearer token callers must send (a mounted Kubernetes Secret). Required when the gRPC
    /// endpoint listens beyond loopback.
    /// </summary>
    public string? TokenFile { get; set; }

    /// <summary>Require the token on <c>/metrics</c> too (Prometheus then sends it with <c>authorization</c>).</summary>
    public bool ProtectMetrics { get; set; }
}

/// <summary>Where pending predictions wait for their labels.</summary>
public enum JoinStoreKind
{
    /// <summary>In the sidecar's memory: fastest; lost on restart.</summary>
    Memory,

    /// <summary>An SQLite file: survives a restart of the sidecar.</summary>
    Sqlite,

    /// <summary>A Redis server shared by every replica: a label may reach any of them.</summary>
    Redis,
}

/// <summary>Settings under <c>Monitoring:GroundTruth</c>.</summary>
public sealed class GroundTruthOptions
{
    /// <summary><c>memory</c> (default), <c>sqlite</c> or <c>redis</c>.</summary>
    public JoinStoreKind Store { get; set; } = JoinStoreKind.Memory;

    /// <summary>How long a prediction waits for its label. Default 7 days.</summary>
    [TimeSpanRange("00:00:01", "365.00:00:00")]
    public TimeSpan Ttl { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Most predictions waiting at once; past it the oldest is evicted and counted.</summary>
    [Range(1, 100_000_000)]
    public int MaxPending { get; set; } = 1_000_000;

    /// <summary>Rolling window of the quality gauges (accuracy, F1, MAE…), by prediction time. Default 7 days.</summary>
    [TimeSpanRange("00:00:01", "365.00:00:00")]
    public TimeSpan Window { get; set; } = TimeSpan.FromDays(7);

    /// <summary>The SQLite file of the <c>sqlite</c> store.</summary>
    [Required]
    public string SqlitePath { get; set; } = "/tmp/mlmonitoring-groundtruth.db";

    /// <summary>StackExchange.Redis configuration string of the <c>redis</c> store.</summary>
    [Required]
    public string RedisConfiguration { get; set; } = "127.0.0.1:6379";

    /// <summary>Prefix of every Redis key; replicas of one model share it.</summary>
    [Required]
    public string RedisKeyPrefix { get; set; } = "mlmon:";

    /// <summary>
    /// Partitions of the pending predictions in Redis, each with its own hash tag: against a Redis Cluster they
    /// spread over the masters (a few per master is enough); against one Redis leave it at 1. MaxPending is kept
    /// per partition, a share of it each. Replicas of one model must agree on it; changing it strands what is pending.
    /// </summary>
    [Range(1, 1024)]
    public int RedisPartitions { get; set; } = 1;

    /// <summary>Most pending predictions waiting to be written to an external store before new ones are dropped.</summary>
    [Range(1, 10_000_000)]
    public int WriteQueueCapacity { get; set; } = 100_000;

    /// <summary>
    /// How long a label or outcome that arrives before its prediction waits for it. Clients batch predictions and
    /// send follow-ups at once, replicas write to a shared store through a queue, and a store that restarted is
    /// written again as replicas reconnect: the prediction is often a moment behind. Past the grace the label is
    /// counted unknown (the outcome falls back to its model name, or unattributed). Zero: counted at once. Default 10 s.
    /// </summary>
    [TimeSpanRange("00:00:00", "01:00:00")]
    public TimeSpan EarlyLabelGrace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Most labels and outcomes waiting for their prediction at once; past it a label is refused, to be sent again.
    /// </summary>
    [Range(1, 10_000_000)]
    public int MaxEarlyLabels { get; set; } = 100_000;

    /// <summary>
    /// Longest a label or outcome call waits for the shared store (its write queue, then each claim) before the
    /// items not yet answered are refused as retryable. Keep it below the clients' deadlines. Default 1 s.
    /// </summary>
    [TimeSpanRange("00:00:00.010", "00:01:00")]
    public TimeSpan StoreTimeout { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>Settings under <c>Monitoring:Drift</c>.</summary>
public sealed class DriftOptions
{
    /// <summary>Drift, estimated accuracy and their per-event work; on by default.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The first this many events of a model version are its baseline.</summary>
    [Range(10, 10_000_000)]
    public int BaselineSize { get; set; } = 10_000;

    /// <summary>The current window compared with the baseline. Default 1 hour.</summary>
    [TimeSpanRange("00:00:01", "30.00:00:00")]
    public TimeSpan Window { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Bins of numeric signals (confidence, numeric features), at the baseline's quantiles.</summary>
    [Range(2, 100)]
    public int Bins { get; set; } = 10;

    /// <summary>Categories of a categorical feature compared one by one; the rest share an "other" bin.</summary>
    [Range(1, 1000)]
    public int MaxCategories { get; set; } = 20;

    /// <summary>
    /// The chance, at one evaluation of the drift alerts, that a model version which has not drifted has any signal
    /// above its critical value; shared evenly among the version's signals. Default 0.01.
    /// </summary>
    [Range(1e-6, 0.5)]
    public double FalseAlarmRate { get; set; } = 0.01;

    /// <summary>
    /// Changing it discards every persisted baseline at the next start: a deliberate re-pin of all models.
    /// </summary>
    [Required]
    public string BaselineGeneration { get; set; } = "1";

    /// <summary>
    /// How often a replica reads the shared baselines: one published by another replica, or a pin, is adopted
    /// within this interval. Default 10 s.
    /// </summary>
    [TimeSpanRange("00:00:00.100", "01:00:00")]
    public TimeSpan SyncInterval { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// Settings under <c>Monitoring:Canary</c>, set on a candidate version's pods: the stable version it is judged
/// against and how much worse than it the candidate may be. Exported as <c>ml_canary_info</c> and
/// <c>ml_canary_margin</c>, from which Prometheus computes the verdict (<c>ml-canary.yaml</c>).
/// </summary>
public sealed class CanaryOptions
{
    /// <summary>The stable version; every other version this sidecar sees is a candidate judged against it. Unset: no verdict.</summary>
    public string? StableVersion { get; set; }

    /// <summary>How much lower than the stable version's the candidate's accuracy may be and still pass. Default 0.02.</summary>
    [Range(0.0, 1.0)]
    public double AccuracyMargin { get; set; } = 0.02;

    /// <summary>How much higher than the stable version's the candidate's error rate may be and still pass. Default 0.005.</summary>
    [Range(0.0, 1.0)]
    public double ErrorRateMargin { get; set; } = 0.005;

    /// <summary>
    /// How much higher than the stable version's the candidate's share of predictions slower than the guide's 500 ms
    /// p99 objective may be and still pass. Default 0.01.
    /// </summary>
    [Range(0.0, 1.0)]
    public double SlowShareMargin { get; set; } = 0.01;
}

/// <summary>Settings under <c>Monitoring:Handover</c>.</summary>
public sealed class HandoverOptions
{
    /// <summary>
    /// How long windows handed over by a stopping replica wait before a replica that stays adopts them. At least
    /// Prometheus' scrape interval: by then the stopped replica's series are stale, so no count is in two series
    /// at once. Meanwhile the fleet figures lack them. Default 30 s (twice a 15 s scrape interval).
    /// </summary>
    [TimeSpanRange("00:00:00", "01:00:00")]
    public TimeSpan AdoptAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often a replica looks for handed-over windows to adopt. Default 10 s.</summary>
    [TimeSpanRange("00:00:00.100", "01:00:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a stopping replica waits for the store to take its windows. Default 3 s.</summary>
    [TimeSpanRange("00:00:00.100", "00:01:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(3);
}

/// <summary>Settings of one model, under <c>Monitoring:Models:&lt;model_name&gt;</c>.</summary>
public sealed class ModelSettings
{
    /// <summary>Upper bounds of this model's <c>ml_prediction_value</c> buckets; null: the global ones.</summary>
    public double[]? RegressionBuckets { get; set; }
}

/// <summary>
/// Bounds on label values. Past a bound, new values are folded into <c>__other__</c> and the overflow is counted in
/// <c>ml_sidecar_cardinality_overflow_total{limit}</c>.
/// </summary>
public sealed class CardinalityLimits
{
    /// <summary>Distinct model names.</summary>
    [Range(1, 100_000)]
    public int MaxModels { get; set; } = 50;

    /// <summary>Distinct versions of one model.</summary>
    [Range(1, 10_000)]
    public int MaxVersionsPerModel { get; set; } = 10;

    /// <summary>Distinct predicted classes of one model version.</summary>
    [Range(1, 100_000)]
    public int MaxClassesPerModel { get; set; } = 100;

    /// <summary>Distinct feature names (numeric and categorical) of one model version.</summary>
    [Range(1, 100_000)]
    public int MaxFeaturesPerModel { get; set; } = 100;

    /// <summary>Distinct categories of one categorical feature.</summary>
    [Range(1, 100_000)]
    public int MaxCategoriesPerFeature { get; set; } = 50;

    /// <summary>Distinct (error_type, error_kind) pairs of one model version.</summary>
    [Range(1, 10_000)]
    public int MaxErrorTypesPerModel { get; set; } = 50;

    /// <summary>Distinct business outcome kinds of one model version.</summary>
    [Range(1, 10_000)]
    public int MaxOutcomeKindsPerModel { get; set; } = 20;

    /// <summary>Longest name or label value accepted (model, version, class, feature, category, error type).</summary>
    [Range(1, 4096)]
    public int MaxNameLength { get; set; } = 128;

    /// <summary>Most entries in one event's features, categorical features or class scores.</summary>
    [Range(1, 100_000)]
    public int MaxMapEntries { get; set; } = 1_000;

    /// <summary>
    /// Most series (label sets) one metric of the models holds: the OpenTelemetry SDK's cardinality limit of each
    /// metric stream. Measurements of a further label set are added to one series labelled
    /// <c>otel_metric_overflow="true"</c>. The limits above bound each label; this bounds their product, which
    /// for the classes, features and categories of many model versions can be larger. The SDK reserves about 72
    /// bytes per series of each metric as soon as the metric exists, so raising it costs memory before any series
    /// does.
    /// </summary>
    [Range(10, 100_000)]
    public int MaxSeriesPerMetric { get; set; } = 2_000;
}

[OptionsValidator]
internal sealed partial class MonitoringOptionsValidator : IValidateOptions<MonitoringOptions>;

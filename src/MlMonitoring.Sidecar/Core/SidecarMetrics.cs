using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Tag = System.Collections.Generic.KeyValuePair<string, object?>;

namespace MlMonitoring.Sidecar.Core;

/// <summary>
/// Self-metrics of the sidecar: what it received and refused, where cardinality limits bit, and the limits
/// themselves, so that an operator sees why a series is missing.
/// </summary>
internal sealed class SidecarMetrics
{
    private readonly Counter<long> _received;
    private readonly Counter<long> _rejected;
    private readonly Counter<long> _overflow;
    private readonly Tag[][] _overflowTags;
    private readonly Tag[][] _receivedTags;

    /// <param name="meterFactory">The meters' factory.</param>
    /// <param name="options">The shared settings, whose cardinality limits are exported.</param>
    /// <param name="contributed">The limits each capability sets from its own settings.</param>
    public SidecarMetrics(IMeterFactory meterFactory, IOptions<MonitoringOptions> options, IEnumerable<ConfiguredLimits>? contributed = null)
    {
        var meter = meterFactory.Create(MeterNames.Sidecar);
        _received = meter.CreateCounter<long>(
            "ml_sidecar_events_received", description: "Prediction events received, by rpc.");
        _rejected = meter.CreateCounter<long>(
            "ml_sidecar_events_rejected", description: "Prediction events rejected, by reason.");
        _overflow = meter.CreateCounter<long>(
            "ml_sidecar_cardinality_overflow",
            description: "Label values folded into __other__ (or features not profiled) because a limit was reached.");

        _overflowTags = [.. Enum.GetValues<SeriesLimit>().Select(limit => new Tag[] { new("limit", LimitLabel(limit)) })];
        _receivedTags = [.. Enum.GetValues<IngestRpc>().Select(rpc => new Tag[] { new("rpc", RpcLabel(rpc)) })];

        var limits = options.Value.Limits;
        Tag[] Limit(string name) => [new("limit", name)];
        // Settings do not change while the process runs: the measurements are made once.
        List<Measurement<long>> limitMeasurements =
        [
            new(limits.MaxModels, Limit("models")),
            new(limits.MaxVersionsPerModel, Limit("versions")),
            new(limits.MaxClassesPerModel, Limit("classes")),
            new(limits.MaxFeaturesPerModel, Limit("features")),
            new(limits.MaxCategoriesPerFeature, Limit("categories")),
            new(limits.MaxErrorTypesPerModel, Limit("error_types")),
            new(limits.MaxOutcomeKindsPerModel, Limit("outcome_kinds")),
            new(limits.MaxNameLength, Limit("name_length")),
            new(limits.MaxMapEntries, Limit("map_entries")),
            new(limits.MaxSeriesPerMetric, Limit("series_per_metric")),
            .. (contributed ?? []).SelectMany(c => c.Values).Select(limit => new Measurement<long>(limit.Value, Limit(limit.Name))),
        ];

        meter.CreateObservableGauge(
            "ml_sidecar_limit", () => limitMeasurements, description: "Configured limits (Monitoring:Limits, batch, pending and tap bounds).");
    }

    public void CountReceived(IngestRpc rpc, int events) => _received.Add(events, _receivedTags[(int)rpc]);

    /// <summary>Counts rejected events; <paramref name="field"/> is the field at fault, a bounded set.</summary>
    public void CountRejected(string field, int events = 1) => _rejected.Add(events, new Tag("reason", field));

    public void CountOverflow(SeriesLimit limit) => _overflow.Add(1, _overflowTags[(int)limit]);

    private static string LimitLabel(SeriesLimit limit) => limit switch
    {
        SeriesLimit.Models => "models",
        SeriesLimit.Versions => "versions",
        SeriesLimit.Classes => "classes",
        SeriesLimit.Features => "features",
        SeriesLimit.Categories => "categories",
        SeriesLimit.OutcomeKinds => "outcome_kinds",
        _ => "error_types",
    };

    private static string RpcLabel(IngestRpc rpc) => rpc switch
    {
        IngestRpc.Unary => "unary",
        IngestRpc.Batch => "batch",
        IngestRpc.Tap => "tap",
        _ => "stream",
    };
}

/// <summary>The rpc an event arrived through; the <c>rpc</c> label of the received self-metric.</summary>
internal enum IngestRpc
{
    Unary,
    Batch,
    Stream,

    /// <summary>Observed by the inference-protocol tap.</summary>
    Tap,
}

/// <summary>
/// Limits a capability sets from its own settings (the batch size, the pending predictions, the tap's bodies),
/// registered beside it and exported with the cardinality limits as <c>ml_sidecar_limit{limit}</c>.
/// </summary>
/// <param name="values">Each limit's <c>limit</c> label and its value.</param>
internal sealed class ConfiguredLimits(params (string Name, long Value)[] values)
{
    /// <summary>Each limit's <c>limit</c> label and its value.</summary>
    public IReadOnlyList<(string Name, long Value)> Values { get; } = values;
}

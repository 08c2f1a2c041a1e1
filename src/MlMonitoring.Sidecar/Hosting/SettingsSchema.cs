using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.SharedState;
using MlMonitoring.Sidecar.Tap;

namespace MlMonitoring.Sidecar.Hosting;

/// <summary>The types a setting's value can have.</summary>
internal enum SettingType
{
    Text,
    Bool,
    Integer,
    Number,
    Duration,
    Choice,
}

/// <summary>What a setting holds: a value of a type, one of <paramref name="Choices"/>, or a list of such values.</summary>
internal sealed record SettingKind(SettingType Type, string[] Choices, bool IsList)
{
    public static readonly SettingKind Text = new(SettingType.Text, [], false);
    public static readonly SettingKind Bool = new(SettingType.Bool, [], false);
    public static readonly SettingKind Integer = new(SettingType.Integer, [], false);
    public static readonly SettingKind Duration = new(SettingType.Duration, [], false);
    public static readonly SettingKind Number = new(SettingType.Number, [], false);
    public static readonly SettingKind Numbers = new(SettingType.Number, [], true);
    public static readonly SettingKind Texts = new(SettingType.Text, [], true);

    /// <summary>One of an enum's names, written in lower case as the documentation does; any case is accepted.</summary>
    public static SettingKind Choice<TEnum>()
        where TEnum : struct, Enum => new(SettingType.Choice, [.. Enum.GetNames<TEnum>()], false);

    /// <summary>The kind of one item of a list.</summary>
    public SettingKind Item => this with { IsList = false };
}

/// <summary>A setting: its key, with <c>*</c> for a name of the user's (a model), and its kind.</summary>
internal sealed record Setting(string Key, SettingKind Kind);

/// <summary>A setting given under its former name: read under its current one, and warned about at start.</summary>
/// <param name="FormerKey">The key as given.</param>
/// <param name="Key">The setting's current key.</param>
/// <param name="Ignored">True when the current key is given too, which then wins.</param>
internal sealed record RenamedSetting(string FormerKey, string Key, bool Ignored);

/// <summary>
/// Every setting under <c>Monitoring</c>, with its kind: what <see cref="SettingsCheck"/> checks values against
/// and suggests from. A test holds it to the options classes, so that a new option cannot be left out.
/// </summary>
internal static class SettingsSchema
{
    public static IReadOnlyList<Setting> All { get; } =
    [
        new("Monitoring:FeatureWindow", SettingKind.Duration),
        new("Monitoring:StatusWindow", SettingKind.Duration),
        new("Monitoring:SnapshotReuse", SettingKind.Duration),
        new("Monitoring:SloFile", SettingKind.Text),
        new("Monitoring:MaxBatchSize", SettingKind.Integer),
        new("Monitoring:MaxMessageBytes", SettingKind.Integer),
        new("Monitoring:RegressionBuckets", SettingKind.Numbers),
        new("Monitoring:Models:*:RegressionBuckets", SettingKind.Numbers),
        new("Monitoring:ShutdownTimeout", SettingKind.Duration),
        new("Monitoring:ExportFlushTimeout", SettingKind.Duration),
        new("Monitoring:PrometheusEndpoint", SettingKind.Bool),
        new("Monitoring:Replicated", SettingKind.Bool),
        new("Monitoring:MaxConcurrentCalls", SettingKind.Integer),
        new("Monitoring:MaxHeapBytes", SettingKind.Integer),
        new("Monitoring:Security:TokenFile", SettingKind.Text),
        new("Monitoring:Security:ProtectMetrics", SettingKind.Bool),
        new("Monitoring:GroundTruth:Ttl", SettingKind.Duration),
        new("Monitoring:GroundTruth:MaxPending", SettingKind.Integer),
        new("Monitoring:GroundTruth:Window", SettingKind.Duration),
        new("Monitoring:GroundTruth:EarlyLabelGrace", SettingKind.Duration),
        new("Monitoring:GroundTruth:MaxEarlyLabels", SettingKind.Integer),
        new("Monitoring:GroundTruth:StoreTimeout", SettingKind.Duration),
        new("Monitoring:SharedState:Store", SettingKind.Choice<SharedStateStoreKind>()),
        new("Monitoring:SharedState:SqlitePath", SettingKind.Text),
        new("Monitoring:SharedState:RedisConfiguration", SettingKind.Text),
        new("Monitoring:SharedState:RedisKeyPrefix", SettingKind.Text),
        new("Monitoring:SharedState:RedisPartitions", SettingKind.Integer),
        new("Monitoring:SharedState:WriteQueueCapacity", SettingKind.Integer),
        new("Monitoring:Drift:Enabled", SettingKind.Bool),
        new("Monitoring:Drift:BaselineSize", SettingKind.Integer),
        new("Monitoring:Drift:Window", SettingKind.Duration),
        new("Monitoring:Drift:Bins", SettingKind.Integer),
        new("Monitoring:Drift:MaxCategories", SettingKind.Integer),
        new("Monitoring:Drift:FalseAlarmRate", SettingKind.Number),
        new("Monitoring:Canary:StableVersion", SettingKind.Text),
        new("Monitoring:Canary:AccuracyMargin", SettingKind.Number),
        new("Monitoring:Canary:ErrorRateMargin", SettingKind.Number),
        new("Monitoring:Canary:SlowShareMargin", SettingKind.Number),
        new("Monitoring:Drift:BaselineGeneration", SettingKind.Text),
        new("Monitoring:Drift:SyncInterval", SettingKind.Duration),
        new("Monitoring:Handover:AdoptAfter", SettingKind.Duration),
        new("Monitoring:Handover:PollInterval", SettingKind.Duration),
        new("Monitoring:Handover:Timeout", SettingKind.Duration),
        new("Monitoring:Limits:MaxModels", SettingKind.Integer),
        new("Monitoring:Limits:MaxVersionsPerModel", SettingKind.Integer),
        new("Monitoring:Limits:MaxClassesPerModel", SettingKind.Integer),
        new("Monitoring:Limits:MaxFeaturesPerModel", SettingKind.Integer),
        new("Monitoring:Limits:MaxCategoriesPerFeature", SettingKind.Integer),
        new("Monitoring:Limits:MaxErrorTypesPerModel", SettingKind.Integer),
        new("Monitoring:Limits:MaxOutcomeKindsPerModel", SettingKind.Integer),
        new("Monitoring:Limits:MaxNameLength", SettingKind.Integer),
        new("Monitoring:Limits:MaxMapEntries", SettingKind.Integer),
        new("Monitoring:Limits:MaxSeriesPerMetric", SettingKind.Integer),
        new("Monitoring:Tap:Listen", SettingKind.Text),
        new("Monitoring:Tap:Upstream", SettingKind.Text),
        new("Monitoring:Tap:GrpcListen", SettingKind.Text),
        new("Monitoring:Tap:GrpcUpstream", SettingKind.Text),
        new("Monitoring:Tap:Protocol", SettingKind.Choice<TapProtocol>()),
        new("Monitoring:Tap:MaxObservedBodyBytes", SettingKind.Integer),
        new("Monitoring:Tap:MaxCapturedBytes", SettingKind.Integer),
        new("Monitoring:Tap:ObserverQueueCapacity", SettingKind.Integer),
        new("Monitoring:Tap:PredictionIdHeader", SettingKind.Text),
        new("Monitoring:Tap:UpstreamTimeout", SettingKind.Duration),
        new("Monitoring:Tap:GenAiProviderName", SettingKind.Text),
        new("Monitoring:Tap:Models:*:ClassOutput", SettingKind.Text),
        new("Monitoring:Tap:Models:*:ProbabilitiesOutput", SettingKind.Text),
        new("Monitoring:Tap:Models:*:ValueOutput", SettingKind.Text),
        new("Monitoring:Tap:Models:*:ClassNames", SettingKind.Texts),
        new("Monitoring:Tap:Models:*:FeatureInputs", SettingKind.Texts),
        new("Monitoring:Tap:Models:*:FeatureNames", SettingKind.Texts),
        new("Monitoring:Tap:Models:*:Version", SettingKind.Text),
    ];

    /// <summary>
    /// Settings still read under a former name, by former key, with a warning at start
    /// (docs/configuration.md#renamed).
    /// </summary>
    public static IReadOnlyDictionary<string, string> Renamed { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["Monitoring:GroundTruth:Store"] = "Monitoring:SharedState:Store",
        ["Monitoring:GroundTruth:SqlitePath"] = "Monitoring:SharedState:SqlitePath",
        ["Monitoring:GroundTruth:RedisConfiguration"] = "Monitoring:SharedState:RedisConfiguration",
        ["Monitoring:GroundTruth:RedisKeyPrefix"] = "Monitoring:SharedState:RedisKeyPrefix",
        ["Monitoring:GroundTruth:RedisPartitions"] = "Monitoring:SharedState:RedisPartitions",
        ["Monitoring:GroundTruth:WriteQueueCapacity"] = "Monitoring:SharedState:WriteQueueCapacity",
    };

    /// <summary>
    /// The setting <paramref name="key"/> names (configuration keys are case-insensitive), and for an item of a
    /// list, its index; (null, null) when it names none.
    /// </summary>
    public static (Setting? Setting, int? Index) Find(string key)
    {
        var parts = key.Split(':');
        foreach (var setting in All)
        {
            var pattern = setting.Key.Split(':');
            if (Matches(pattern, parts, parts.Length))
            {
                return (setting, null);
            }

            if (setting.Kind.IsList && parts.Length == pattern.Length + 1 && Matches(pattern, parts, pattern.Length)
                && int.TryParse(parts[^1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index))
            {
                return (setting, index);
            }
        }

        return (null, null);
    }

    /// <summary>The setting closest to a key that names none, by edit distance; null when none is close.</summary>
    public static string? Nearest(string key)
    {
        var parts = key.Split(':');
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var setting in All)
        {
            // A model's name stands where the pattern has "*": compare with the user's own name in its place.
            var pattern = setting.Key.Split(':');
            var candidate = string.Join(':', pattern.Select((p, i) => p == "*" && i < parts.Length ? parts[i] : p));
            var distance = EditDistance(key.ToUpperInvariant(), candidate.ToUpperInvariant());
            if (distance < bestDistance)
            {
                (best, bestDistance) = (candidate, distance);
            }
        }

        return bestDistance <= Math.Max(3, key.Length / 4) ? best : null;
    }

    private static bool Matches(string[] pattern, string[] parts, int count) =>
        pattern.Length == count && pattern.Select((p, i) => p == "*" || string.Equals(p, parts[i], StringComparison.OrdinalIgnoreCase)).All(m => m);

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1], previous[j]) + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}

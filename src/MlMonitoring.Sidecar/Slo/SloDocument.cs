using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace MlMonitoring.Sidecar.Slo;

/// <summary>One service-level objective of one model, as a ratio of good events.</summary>
/// <param name="ModelName">The model_name label value.</param>
/// <param name="Name">availability, latency_p99, latency_p50, ttft_p95 or accuracy: the <c>slo</c> label value.</param>
/// <param name="Objective">The share of good events aimed for, e.g. 0.999.</param>
/// <param name="Window">The compliance window, e.g. 30 days.</param>
/// <param name="LatencyThresholdSeconds">For latency and time-to-first-token objectives: a good event answered (or its first token) within this.</param>
internal sealed record ServiceLevelObjective(string ModelName, string Name, double Objective, TimeSpan Window, double? LatencyThresholdSeconds = null)
{
    /// <summary>What the objective measures, from its name.</summary>
    public SloKind Kind => Name switch
    {
        "availability" => SloKind.Availability,
        "accuracy" => SloKind.Accuracy,
        _ when Name.StartsWith("ttft_", StringComparison.Ordinal) => SloKind.TimeToFirstToken,
        _ => SloKind.Latency,
    };

    /// <summary>The error budget: the share of bad events allowed (in decimal: 1 − 0.999 is 0.001, not 0.0010000000000000009).</summary>
    public double ErrorBudget => (double)(1m - (decimal)Objective);
}

/// <summary>What an objective counts as its events.</summary>
internal enum SloKind
{
    /// <summary>Predictions that did not fail.</summary>
    Availability,

    /// <summary>Predictions answered within a threshold (<c>ml_prediction_latency_seconds</c>).</summary>
    Latency,

    /// <summary>Streamed LLM responses whose first token came within a threshold (<c>gen_ai.server.time_to_first_token</c>).</summary>
    TimeToFirstToken,

    /// <summary>Labelled predictions that were right.</summary>
    Accuracy,
}

/// <summary>
/// The SLO file, in the format of the "ML Monitoring" guide:
/// <code>
/// slos:
///   fraud-detector:              # the model_name (or set model_name: inside)
///     availability: { target: 99.9, window: 30d }     # percent or ratio
///     latency: { p99_target_ms: 100, p50_target_ms: 20, window: 30d }   # window: the availability one if absent
///     accuracy: { target: 0.95, window: 7d }
///   chat_assistant:              # an LLM observed by the tap: gen_ai.request.model
///     time_to_first_token: { p95_target_ms: 500, p50_target_ms: 200, window: 30d }
/// </code>
/// A latency target p99_target_ms: 100 means 99% of predictions within 100 ms; p50_target_ms: 20, half within 20 ms.
/// A time-to-first-token target p95_target_ms: 500 means 95% of streamed responses had their first token within 500 ms.
/// </summary>
internal static class SloDocument
{
    private static readonly TimeSpan DefaultWindow = TimeSpan.FromDays(30);

    /// <summary>The keys each level of the file may hold; any other is a mistake, named with its line.</summary>
    private static readonly string[] ModelKeys = ["model_name", "availability", "latency", "time_to_first_token", "accuracy"];
    private static readonly string[] TargetKeys = ["target", "window"];
    private static readonly string[] LatencyKeys = ["p99_target_ms", "p95_target_ms", "p90_target_ms", "p50_target_ms", "window"];

    public static IReadOnlyList<ServiceLevelObjective> Load(string path)
    {
        StreamReader reader;
        try
        {
            reader = File.OpenText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Relative paths are the caller's: say where they were looked for (dotnet run starts in the project folder).
            throw new FormatException($"{path}: cannot read it ({e.Message}); relative paths are read from {Directory.GetCurrentDirectory()}");
        }

        using (reader)
        {
            return Parse(reader, path);
        }
    }

    public static IReadOnlyList<ServiceLevelObjective> Parse(TextReader text, string source = "slo.yaml")
    {
        var yaml = new YamlStream();
        try
        {
            yaml.Load(text);
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new FormatException($"{source}:{e.Start.Line}:{e.Start.Column}: {(e.InnerException ?? e).Message}");
        }

        if (yaml.Documents.Count == 0 || yaml.Documents[0].RootNode is not YamlMappingNode root
            || !root.Children.TryGetValue(new YamlScalarNode("slos"), out var slosNode) || slosNode is not YamlMappingNode slos)
        {
            throw new FormatException($"{source}: expected a top-level 'slos:' mapping of model names");
        }

        CheckKeys(root, ["slos"], source, "");
        var objectives = new List<ServiceLevelObjective>();
        foreach (var (key, value) in slos.Children)
        {
            var path = $"{source}:{key.Start.Line}:{key.Start.Column}: slos.{key}";
            if (value is not YamlMappingNode model)
            {
                throw new FormatException($"{path}: expected a mapping");
            }

            CheckKeys(model, ModelKeys, source, $"slos.{key}.");
            foreach (var (section, allowed) in new[] { ("availability", TargetKeys), ("accuracy", TargetKeys), ("latency", LatencyKeys), ("time_to_first_token", LatencyKeys) })
            {
                if (Mapping(model, section) is { } objective)
                {
                    CheckKeys(objective, allowed, source, $"slos.{key}.{section}.");
                    if (objective.Children.Count == 0 || (allowed == LatencyKeys && !objective.Children.Keys.Any(k => ((YamlScalarNode)k).Value != "window")))
                    {
                        throw new FormatException($"{source}:{objective.Start.Line}:{objective.Start.Column}: slos.{key}.{section}: no target; give {string.Join(" or ", allowed.Where(k => k != "window"))}");
                    }
                }
                else if (model.Children.TryGetValue(new YamlScalarNode(section), out var notMapping))
                {
                    throw new FormatException($"{source}:{notMapping.Start.Line}:{notMapping.Start.Column}: slos.{key}.{section}: expected a mapping of {string.Join(", ", allowed)}");
                }
            }

            if (model.Children.Keys.All(k => ((YamlScalarNode)k).Value == "model_name"))
            {
                throw new FormatException($"{path}: no objective; give one of {string.Join(", ", ModelKeys.Skip(1))}");
            }

            var modelName = Scalar(model, "model_name") ?? ((YamlScalarNode)key).Value!;
            TimeSpan? availabilityWindow = null;
            if (Mapping(model, "availability") is { } availability)
            {
                availabilityWindow = Window(availability, $"{path}.availability") ?? DefaultWindow;
                objectives.Add(new(modelName, "availability", Target(availability, $"{path}.availability"), availabilityWindow.Value));
            }

            foreach (var (section, prefix) in new[] { ("latency", "latency"), ("time_to_first_token", "ttft") })
            {
                if (Mapping(model, section) is not { } latency)
                {
                    continue;
                }

                var window = Window(latency, $"{path}.{section}") ?? availabilityWindow ?? DefaultWindow;
                foreach (var (field, percentile) in new[] { ("p99_target_ms", 0.99), ("p95_target_ms", 0.95), ("p90_target_ms", 0.90), ("p50_target_ms", 0.50) })
                {
                    if (Number(latency, field, $"{path}.{section}") is { } milliseconds)
                    {
                        if (milliseconds <= 0)
                        {
                            throw new FormatException($"{path}.{section}.{field}: must be > 0");
                        }

                        objectives.Add(new(modelName, $"{prefix}_{field[..3]}", percentile, window, milliseconds / 1000));
                    }
                }
            }

            if (Mapping(model, "accuracy") is { } accuracy)
            {
                objectives.Add(new(modelName, "accuracy", Target(accuracy, $"{path}.accuracy"), Window(accuracy, $"{path}.accuracy") ?? TimeSpan.FromDays(7)));
            }
        }

        return objectives;
    }

    /// <summary>A target as a ratio: values above 1 are percentages (99.9 is 0.999).</summary>
    private static double Target(YamlMappingNode node, string path)
    {
        var target = Number(node, "target", path) ?? throw new FormatException($"{path}.target: required");
        var ratio = target > 1 ? (double)((decimal)target / 100m) : target;
        return ratio is > 0 and < 1 ? ratio : throw new FormatException($"{path}.target: {target} is not a ratio in (0, 1) nor a percentage in (1, 100)");
    }

    private static TimeSpan? Window(YamlMappingNode node, string path)
    {
        if (Scalar(node, "window") is not { } text)
        {
            return null;
        }

        var unit = text[^1];
        if (!double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) || amount <= 0)
        {
            throw new FormatException($"{path}.window: '{text}' is not a duration like 30d, 12h or 90m");
        }

        return unit switch
        {
            'd' => TimeSpan.FromDays(amount),
            'h' => TimeSpan.FromHours(amount),
            'm' => TimeSpan.FromMinutes(amount),
            'w' => TimeSpan.FromDays(7 * amount),
            _ => throw new FormatException($"{path}.window: '{text}' is not a duration like 30d, 12h or 90m"),
        };
    }

    private static double? Number(YamlMappingNode node, string key, string path)
    {
        if (Scalar(node, key) is not { } text)
        {
            return null;
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value)
            ? value
            : throw new FormatException($"{path}.{key}: '{text}' is not a number");
    }

    /// <summary>Refuses a key the level does not know, naming its line and column and the nearest known key.</summary>
    private static void CheckKeys(YamlMappingNode node, string[] allowed, string source, string prefix)
    {
        foreach (var key in node.Children.Keys)
        {
            var name = (key as YamlScalarNode)?.Value ?? key.ToString();
            if (allowed.Contains(name, StringComparer.Ordinal))
            {
                continue;
            }

            var nearest = allowed.MinBy(candidate => EditDistance(name, candidate))!;
            var hint = EditDistance(name, nearest) <= Math.Max(2, name.Length / 3) ? $"; did you mean {nearest}?" : "";
            throw new FormatException($"{source}:{key.Start.Line}:{key.Start.Column}: {prefix}{name}: unknown key{hint} (expected one of {string.Join(", ", allowed)})");
        }
    }

    private static int EditDistance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var diagonal = row[0];
            row[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }

        return row[b.Length];
    }

    private static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) && value is YamlScalarNode scalar ? scalar.Value : null;

    private static YamlMappingNode? Mapping(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value as YamlMappingNode : null;
}

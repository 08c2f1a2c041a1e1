using System.Globalization;

namespace MlMonitoring.Testing;

/// <summary>One sample of the Prometheus text exposition: a name, its labels and a value.</summary>
public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>
/// A small parser of the Prometheus text exposition format, enough to find a series by name and labels. The
/// exporter's <c>otel_scope_name</c> label is kept but never required in a lookup.
/// </summary>
public sealed class MetricsText
{
    private const string ScopeLabel = "otel_scope_name";

    private MetricsText(string text, List<Sample> samples)
    {
        Text = text;
        Samples = samples;
    }

    public string Text { get; }

    public IReadOnlyList<Sample> Samples { get; }

    public static MetricsText Parse(string text)
    {
        var samples = new List<Sample>();
        foreach (var rawLine in text.Split('\n'))
        {
            var line = rawLine.TrimEnd('\r');
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            samples.Add(ParseLine(line));
        }

        return new MetricsText(text, samples);
    }

    /// <summary>
    /// The value of the one series named <paramref name="name"/> whose labels, other than otel_scope_name, are
    /// exactly <paramref name="labels"/>; null when there is none.
    /// </summary>
    public double? Find(string name, params (string Key, string Value)[] labels)
    {
        var matches = Samples.Where(s => s.Name == name && LabelsAre(s, labels)).ToList();
        Assert.True(matches.Count <= 1, $"{matches.Count} series {name} match the labels");
        return matches.Count == 0 ? null : matches[0].Value;
    }

    /// <summary>Like <see cref="Find"/>, but the series must exist.</summary>
    public double Value(string name, params (string Key, string Value)[] labels) =>
        Find(name, labels) ?? throw new Xunit.Sdk.XunitException(
            $"no series {name}{{{string.Join(",", labels.Select(l => $"{l.Key}=\"{l.Value}\""))}}} in\n{Text}");

    /// <summary>Every series named <paramref name="name"/>.</summary>
    public IEnumerable<Sample> All(string name) => Samples.Where(s => s.Name == name);

    private static bool LabelsAre(Sample sample, (string Key, string Value)[] labels)
    {
        var own = sample.Labels.Where(l => l.Key != ScopeLabel).ToDictionary(l => l.Key, l => l.Value);
        return own.Count == labels.Length && labels.All(l => own.TryGetValue(l.Key, out var v) && v == l.Value);
    }

    private static Sample ParseLine(string line)
    {
        var labels = new Dictionary<string, string>();
        var brace = line.IndexOf('{', StringComparison.Ordinal);
        string name;
        int rest;
        if (brace < 0)
        {
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            name = line[..space];
            rest = space;
        }
        else
        {
            name = line[..brace];
            var i = brace + 1;
            while (line[i] != '}')
            {
                var eq = line.IndexOf('=', i);
                var key = line[i..eq].Trim(',', ' ');
                var value = new System.Text.StringBuilder();
                var j = eq + 2; // skip ="
                while (line[j] != '"')
                {
                    if (line[j] == '\\')
                    {
                        j++;
                        value.Append(line[j] == 'n' ? '\n' : line[j]);
                    }
                    else
                    {
                        value.Append(line[j]);
                    }

                    j++;
                }

                labels[key] = value.ToString();
                i = j + 1;
                if (line[i] == ',')
                {
                    i++;
                }
            }

            rest = i + 1;
        }

        var fields = line[rest..].Trim().Split(' ');
        var number = fields[0] switch
        {
            "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            "NaN" => double.NaN,
            var text => double.Parse(text, CultureInfo.InvariantCulture),
        };
        return new Sample(name, labels, number);
    }
}

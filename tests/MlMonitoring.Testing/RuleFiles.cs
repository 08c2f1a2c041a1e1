using System.Text.RegularExpressions;

namespace MlMonitoring.Testing;

/// <summary>The project's Prometheus rule files (monitoring/prometheus/rules), as a Prometheus under test loads them.</summary>
public static partial class RuleFiles
{
    public static readonly string Directory = Repository.PathOf("monitoring", "prometheus", "rules");

    /// <summary>The rule files (not their promtool tests), by file name.</summary>
    public static string[] Names() =>
        [.. System.IO.Directory.GetFiles(Directory, "*.yaml").Where(f => !f.EndsWith(".test.yaml", StringComparison.Ordinal)).Select(f => Path.GetFileName(f))];

    /// <summary>
    /// The rule files copied to a temporary folder, loaded by the returned <c>rule_files</c> configuration; with
    /// <paramref name="shortenFor"/> every <c>for:</c> is 0s, so that an alert fires at its first evaluation.
    /// </summary>
    public static string CopyAsPrometheusConfig(bool shortenFor)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("mlmon-rules-").FullName;
        foreach (var name in Names())
        {
            var text = File.ReadAllText(Path.Combine(Directory, name));
            File.WriteAllText(Path.Combine(directory, name), shortenFor ? ForClause().Replace(text, "for: 0s") : text);
        }

        return $"""
            rule_files:
              - '{directory}/*.yaml'
            """;
    }

    [GeneratedRegex(@"for: \d+[smh]")]
    private static partial Regex ForClause();
}

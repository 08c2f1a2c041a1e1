namespace MlMonitoring.Sidecar.Slo;

/// <summary>
/// <c>MlMonitoring.Sidecar slo generate slo.yaml [--output rules.yaml]</c>: SLOs as code, turned into Prometheus rules.
/// </summary>
internal static class SloCommand
{
    public const string Usage = """
        usage: MlMonitoring.Sidecar slo generate <slo.yaml> [--output <rules.yaml>]

        Writes Prometheus recording rules (error ratios over 5m … 3d and the SLO window, error budget remaining)
        and multiwindow, multi-burn-rate alerts for every SLO in the file; to stdout without --output.
        """;

    public static bool IsCommand(string[] args) => args is ["slo", ..];

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        if (args is not ["slo", "generate", var path, ..])
        {
            error.WriteLine(Usage);
            return 2;
        }

        string? outputPath = null;
        for (var i = 3; i < args.Length; i++)
        {
            if (args[i] is "--output" or "-o" && i + 1 < args.Length)
            {
                outputPath = args[++i];
            }
            else
            {
                error.WriteLine($"unknown argument {args[i]}");
                error.WriteLine(Usage);
                return 2;
            }
        }

        try
        {
            var rules = SloRuleGenerator.Generate(SloDocument.Load(path), path.Replace('\\', '/'));
            if (outputPath is null)
            {
                output.Write(rules);
            }
            else
            {
                File.WriteAllText(outputPath, rules);
            }

            return 0;
        }
        catch (Exception e) when (e is FormatException or IOException or YamlDotNet.Core.YamlException or UnauthorizedAccessException)
        {
            error.WriteLine(e.Message);
            return 1;
        }
    }
}

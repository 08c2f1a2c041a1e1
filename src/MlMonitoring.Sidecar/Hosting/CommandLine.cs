using System.Reflection;

namespace MlMonitoring.Sidecar.Hosting;

/// <summary><c>--help</c> and <c>--version</c>: answered before anything is configured, bound or listened on.</summary>
internal static class CommandLine
{
    private const string Usage = """
        Usage: MlMonitoring.Sidecar [--help] [--version]
               MlMonitoring.Sidecar slo generate <slo.yaml> [--output <rules.yaml>]

        Runs the monitoring sidecar: prediction events over gRPC (Kestrel:Endpoints:Grpc:Url, default
        http://127.0.0.1:50051), metrics on /metrics with /healthz and /readyz (Kestrel:Endpoints:Http:Url, default
        http://0.0.0.0:9464), and OTLP export when OTEL_EXPORTER_OTLP_ENDPOINT is set.

        Settings come from environment variables, with "__" between the parts of a key
        (Monitoring__SharedState__Store=redis, Monitoring__Tap__Models__iris__ClassNames=setosa,versicolor),
        and from the command line (--Monitoring:FeatureWindow=00:10:00), over compiled-in defaults. Every setting,
        its default and meaning: docs/configuration.md. A mistaken setting stops the start with
        one line naming it.

        Commands:
          slo generate   writes Prometheus recording rules and burn-rate alerts for the SLOs of a file
        """;

    /// <summary>The exit code when <paramref name="args"/> asks for help or the version (written to <paramref name="output"/>); null otherwise.</summary>
    public static int? Answer(string[] args, TextWriter output)
    {
        if (args is ["--help" or "-h" or "-?" or "help", ..])
        {
            output.WriteLine(Usage);
            return 0;
        }

        if (args is ["--version", ..])
        {
            output.WriteLine($"MlMonitoring.Sidecar {Version}");
            return 0;
        }

        return null;
    }

    /// <summary>The informational version the build stamped, without the source revision.</summary>
    public static string Version =>
        typeof(CommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "unknown";
}

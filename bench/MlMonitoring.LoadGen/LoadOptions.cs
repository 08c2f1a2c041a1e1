using System.Globalization;

namespace MlMonitoring.LoadGen;

/// <summary>How the load generator sends: which rpc, how fast, for how long.</summary>
internal sealed record LoadOptions
{
    public string Target { get; init; } = "http://127.0.0.1:50051";

    /// <summary>unary, batch or stream.</summary>
    public string Mode { get; init; } = "stream";

    /// <summary>Events per second; 0 sends flat out.</summary>
    public double Rate { get; init; }

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Open loop: send at the same rate for this long first, unmeasured (JIT, connections, thread pool).</summary>
    public TimeSpan Warmup { get; init; } = TimeSpan.Zero;

    public int BatchSize { get; init; } = 500;

    /// <summary>Concurrent callers (unary, batch) or streams.</summary>
    public int Concurrency { get; init; } = 4;

    public const string Usage = """
        MlMonitoring.LoadGen: synthetic prediction events for the monitoring sidecar.

          --target URL        sidecar gRPC endpoint (default http://127.0.0.1:50051)
          --mode MODE         unary | batch | stream (default stream)
          --rate N            events per second, open loop; 0 = flat out (default 0)
          --duration SECONDS  how long to send (default 10)
          --warmup SECONDS    open loop: send this long first without measuring (default 0)
          --batch-size N      events per batch for batch and stream (default 500)
          --concurrency N     concurrent callers or streams (default 4)
          --json              print the result as one JSON line
        """;

    public static LoadOptions Parse(string[] args)
    {
        var options = new LoadOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            options = args[i] switch
            {
                "--target" => options with { Target = Value() },
                "--mode" => options with { Mode = ParseMode(Value()) },
                "--rate" => options with { Rate = double.Parse(Value(), CultureInfo.InvariantCulture) },
                "--duration" => options with { Duration = TimeSpan.FromSeconds(double.Parse(Value(), CultureInfo.InvariantCulture)) },
                "--warmup" => options with { Warmup = TimeSpan.FromSeconds(double.Parse(Value(), CultureInfo.InvariantCulture)) },
                "--batch-size" => options with { BatchSize = int.Parse(Value(), CultureInfo.InvariantCulture) },
                "--concurrency" => options with { Concurrency = int.Parse(Value(), CultureInfo.InvariantCulture) },
                _ => throw new ArgumentException($"unknown option {args[i]}"),
            };
        }

        return options;
    }

    private static string ParseMode(string mode) =>
        mode is "unary" or "batch" or "stream" ? mode : throw new ArgumentException($"--mode: unary, batch or stream, not {mode}");
}

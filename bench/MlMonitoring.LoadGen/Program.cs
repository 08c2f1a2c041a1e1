using System.Globalization;
using MlMonitoring.LoadGen;

if (args is ["--help"] or ["-h"])
{
    Console.WriteLine(LoadOptions.Usage);
    return 0;
}

var json = args.Contains("--json");
LoadOptions options;
try
{
    options = LoadOptions.Parse([.. args.Where(a => a != "--json")]);
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(LoadOptions.Usage);
    return 2;
}

var pool = SyntheticTraffic.Generate(20_000);
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

if (!json)
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"sending {options.Mode} to {options.Target} for {options.Duration.TotalSeconds:0.#} s, " +
    $"{(options.Rate > 0 ? $"{options.Rate:0} events/s" : "flat out")}, concurrency {options.Concurrency}" +
    $"{(options.Mode == "unary" ? "" : $", batches of {options.BatchSize}")}"));
}

var result = await new LoadRunner(options, pool).RunAsync(cancel.Token);

if (json)
{
    Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(new
    {
        mode = options.Mode,
        rate = options.Rate,
        events = result.Events,
        rejected = result.Rejected,
        seconds = result.Elapsed.TotalSeconds,
        events_per_second = result.EventsPerSecond,
        calls_per_second = result.CallsPerSecond,
        ack_p50_ms = result.Percentile(0.50),
        ack_p99_ms = result.Percentile(0.99),
    }));
    return result.Rejected == 0 ? 0 : 1;
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
    events     {result.Events} ({result.Accepted} accepted, {result.Rejected} rejected) in {result.Calls} calls over {result.Elapsed.TotalSeconds:0.00} s
    events/s   {result.EventsPerSecond:0}
    calls/s    {result.CallsPerSecond:0}
    ack ms     p50 {result.Percentile(0.50):0.000}  p95 {result.Percentile(0.95):0.000}  p99 {result.Percentile(0.99):0.000}  max {result.Percentile(1.0):0.000}
    """));
return result.Rejected == 0 ? 0 : 1;

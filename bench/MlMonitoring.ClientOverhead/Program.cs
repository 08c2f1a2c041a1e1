// What a .NET model process spends per prediction on monitoring: in-process System.Diagnostics.Metrics recording
// aggregated by the OpenTelemetry SDK (the guide's four instruments) against MlMonitoring.Client, side by side.
// Process CPU covers every thread, from the first record to the end of a flush that waits for every
// acknowledgement; caller CPU is the recording thread's own.
// With --rate, predictions come at that many per second (the thread sleeps between millisecond slices), as in a
// model server that is not saturated: what then counts is what each batch costs, not only each event. Both sides
// are paced the same way (10 ms slices), so the sleeping itself costs them alike.
//   dotnet bench/MlMonitoring.ClientOverhead/bin/Release/net10.0/MlMonitoring.ClientOverhead.dll --target http://127.0.0.1:50051 [--predictions N] [--rate R]
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Runtime.InteropServices;
using MlMonitoring.Client;
using OpenTelemetry;
using OpenTelemetry.Metrics;

var target = args.SkipWhile(a => a != "--target").Skip(1).FirstOrDefault() ?? "http://127.0.0.1:50051";
var predictions = int.Parse(args.SkipWhile(a => a != "--predictions").Skip(1).FirstOrDefault() ?? "100000", CultureInfo.InvariantCulture);
var rate = int.Parse(args.SkipWhile(a => a != "--rate").Skip(1).FirstOrDefault() ?? "0", CultureInfo.InvariantCulture);
var pace = new Pace(rate);
// Warm-ups long enough for tiered JIT to finish on both sides (rounds for at least a second each): measured with
// less, the in-process SDK still runs unoptimized code and looks up to five times dearer than it is.
for (var warm = Stopwatch.StartNew(); warm.Elapsed < TimeSpan.FromSeconds(1);)
{
    InProcess(100_000, Pace.FlatOut);
}

for (var warm = Stopwatch.StartNew(); warm.Elapsed < TimeSpan.FromSeconds(1);)
{
    await Client(100_000, target, Pace.FlatOut);
}

if (rate > 0)
{
    // Paced, other code runs (timeouts, small batches): without a paced warm-up its tier-1 compilations landed in
    // the measured run, up to 600 ms of the JIT's background thread in 8 s.
    InProcess(rate * 5, pace);
    await Client(rate * 5, target, pace);
}

// Tier-1 compilations queued by the warm-ups finish in the background; measured before they do, their CPU was
// charged to whichever side ran first (about 45 us per prediction in a paced run).
Thread.Sleep(TimeSpan.FromSeconds(2));

// Paced, the process spends CPU on the pacing itself (sleeping and waking): measured alone, it is taken off both.
var idle = rate > 0 ? Unmonitored(predictions, pace) : new Result(0, 0, predictions, 0);
var baseline = InProcess(predictions, pace);
var client = await Client(predictions, target, pace);
var (baselineNet, clientNet) = (baseline.ProcessUs - idle.ProcessUs, client.ProcessUs - idle.ProcessUs);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
    predictions                         {predictions}{(rate > 0 ? $" at {rate}/s; pacing alone costs process {idle.ProcessUs:0.000} us/prediction, caller {idle.CallerUs:0.000} us, taken off below" : " flat out")}
    in-process OpenTelemetry SDK        process {baselineNet:0.000} us/prediction, caller {baseline.CallerUs - idle.CallerUs:0.000} us
    MlMonitoring.Client                 process {clientNet:0.000} us/prediction, caller {client.CallerUs - idle.CallerUs:0.000} us, delivered {client.Delivered} (dropped {client.Dropped})
    client / in-process (process CPU)   {clientNet / baselineNet:0.000}
    """));

static Result Unmonitored(int n, Pace pace)
{
    var (process0, thread0) = (Process.GetCurrentProcess().TotalProcessorTime, ThreadCpu.Now());
    var started = Stopwatch.GetTimestamp();
    for (var i = 0; i < n; i++)
    {
        pace.Wait(i, started);
    }

    var thread1 = ThreadCpu.Now();
    var process1 = Process.GetCurrentProcess().TotalProcessorTime;
    return new((process1 - process0).TotalMicroseconds / n, (thread1 - thread0).TotalMicroseconds / n, n, 0);
}

static Result InProcess(int n, Pace pace)
{
    using var meter = new Meter("overhead.inprocess");
    using var provider = Sdk.CreateMeterProviderBuilder()
        .AddMeter(meter.Name)
        .AddReader(new PeriodicExportingMetricReader(new DiscardingExporter(), 60_000))
        .Build();
    var requests = meter.CreateCounter<long>("ml_prediction_requests");
    var latency = meter.CreateHistogram("ml_prediction_latency", "s", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5] });
    var confidence = meter.CreateHistogram("ml_prediction_confidence", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99] });
    var classes = meter.CreateCounter<long>("ml_prediction_class");
    var (process0, thread0) = (Process.GetCurrentProcess().TotalProcessorTime, ThreadCpu.Now());
    var started = Stopwatch.GetTimestamp();
    for (var i = 0; i < n; i++)
    {
        pace.Wait(i, started);
        var predicted = i % 10 == 0 ? "fraud" : "legit";
        requests.Add(1, new("model_name", "fraud"), new("model_version", "v1"));
        latency.Record(0.012, new("model_name", "fraud"), new("model_version", "v1"));
        classes.Add(1, new("model_name", "fraud"), new("model_version", "v1"), new("predicted_class", predicted));
        confidence.Record(0.93, new("model_name", "fraud"), new("model_version", "v1"), new("predicted_class", predicted));
    }

    var thread1 = ThreadCpu.Now();
    var process1 = Process.GetCurrentProcess().TotalProcessorTime;
    return new((process1 - process0).TotalMicroseconds / n, (thread1 - thread0).TotalMicroseconds / n, n, 0);
}

static async Task<Result> Client(int n, string target, Pace pace)
{
    await using var client = new MonitoringClient(new MonitoringClientOptions { Endpoint = new Uri(target), Capacity = Math.Max(n, 100_000), MaxBatchSize = int.Parse(Environment.GetEnvironmentVariable("OVERHEAD_BATCH") ?? "500", CultureInfo.InvariantCulture) });
    var (process0, thread0) = (Process.GetCurrentProcess().TotalProcessorTime, ThreadCpu.Now());
    var started = Stopwatch.GetTimestamp();
    for (var i = 0; i < n; i++)
    {
        pace.Wait(i, started);
        client.RecordClassification("overhead", "v1", 0.012, i % 10 == 0 ? "fraud" : "legit", 0.93);
    }

    var thread1 = ThreadCpu.Now();
    var flushStart = Stopwatch.GetTimestamp();
    await client.FlushAsync();
    var process1 = Process.GetCurrentProcess().TotalProcessorTime;
    if (Environment.GetEnvironmentVariable("OVERHEAD_VERBOSE") is not null)
    {
        Console.Error.WriteLine($"flush wall {Stopwatch.GetElapsedTime(flushStart).TotalMilliseconds:0.0} ms, process cpu {(process1 - process0).TotalMilliseconds:0.0} ms, gc pause total {GC.GetTotalPauseDuration().TotalMilliseconds:0.0} ms, gen0 {GC.CollectionCount(0)} gen1 {GC.CollectionCount(1)} gen2 {GC.CollectionCount(2)}");
    }
    return new((process1 - process0).TotalMicroseconds / n, (thread1 - thread0).TotalMicroseconds / n, client.Sent, client.Dropped);
}

/// <summary>Holds the caller back until prediction <c>i</c> is due, sleeping in 10 ms slices so that waiting costs little CPU.</summary>
internal readonly record struct Pace(int PerSecond)
{
    public static Pace FlatOut => new(0);

    public void Wait(int i, long started)
    {
        if (PerSecond <= 0)
        {
            return;
        }

        var due = started + (long)((double)i / PerSecond * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < due)
        {
            Thread.Sleep(10);
        }
    }
}

internal readonly record struct Result(double ProcessUs, double CallerUs, long Delivered, long Dropped);

internal sealed class DiscardingExporter : BaseExporter<Metric>
{
    public override ExportResult Export(in Batch<Metric> batch) => ExportResult.Success;
}

/// <summary>The calling thread's CPU time (clock_gettime(CLOCK_THREAD_CPUTIME_ID)).</summary>
internal static partial class ThreadCpu
{
    private const int ClockThreadCpuTime = 3;

    public static TimeSpan Now()
    {
        clock_gettime(ClockThreadCpuTime, out var spec);
        return TimeSpan.FromTicks((spec.Seconds * TimeSpan.TicksPerSecond) + (spec.Nanoseconds / 100));
    }

    [LibraryImport("libc", SetLastError = false)]
    private static partial int clock_gettime(int clock, out TimeSpec spec);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}

using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Drift;
using MlMonitoring.Sidecar.Export;
using MlMonitoring.Sidecar.GroundTruth;
using MlMonitoring.Sidecar.Ingest.Wire;
using MlMonitoring.Sidecar.Ingest;
using MlMonitoring.Sidecar.Metrics;
using MlMonitoring.Sidecar.SharedState;
using MlMonitoring.Sidecar.Slo;
using MlMonitoring.V1;
using OpenTelemetry.Metrics;

namespace MlMonitoring.Benchmarks;

/// <summary>
/// The per-event path of the sidecar — validation, every instrument, feature statistics and sketches, drift —
/// through the real services of the host, with the OpenTelemetry SDK listening as in production.
/// </summary>
[MemoryDiagnoser]
public class RecordingBenchmarks
{
    private WebApplication _app = null!;
    private BatchIngestor _ingestor = null!;
    private IncomingPrediction[] _events = null!;
    private IncomingPrediction[] _withIds = null!;
    private int _next;

    [Params(true, false)]
    public bool Drift { get; set; }

    /// <summary>
    /// OTLP export beside the Prometheus endpoint: the SDK then aggregates every measurement once per reader. The
    /// endpoint refuses connections; exports run every 60 s, outside the measurement, so only aggregation counts.
    /// </summary>
    [Params(false, true)]
    public bool Otlp { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        string[] args = [$"--Monitoring:Drift:Enabled={Drift}", "--Monitoring:Drift:BaselineSize=1000"];
        var builder = WebApplication.CreateSlimBuilder(Otlp ? [.. args, "--OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:9"] : args);
        // The capabilities on the event path, registered as Program.cs registers them.
        builder.Services
            .AddMonitoringCore()
            .AddIngest()
            .AddPredictionMetrics()
            .AddSharedState()
            .AddGroundTruth()
            .AddDrift()
            .AddSlo()
            .AddExport(builder.Configuration);
        _app = builder.Build();
        _ = _app.Services.GetRequiredService<MeterProvider>(); // start listening, as the host does
        _ingestor = _app.Services.GetRequiredService<BatchIngestor>();
        var random = new Random(1);
        // Read off the wire as the service reads them; the reading itself is WireReadingBenchmarks.
        _events = [.. Enumerable.Range(0, 1024).Select(i => PredictionWireReader.ReadEvent(Event(random, i, withId: false)))];
        _withIds = [.. Enumerable.Range(0, 1 << 18).Select(i => PredictionWireReader.ReadEvent(Event(random, i, withId: true)))];
        // Past the drift baseline, into the steady state.
        for (var i = 0; i < 5_000; i++)
        {
            _ingestor.Ingest(_events[i % _events.Length]);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _app.DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>A classification with five numeric features: every instrument, statistics, sketches, drift.</summary>
    [Benchmark]
    public bool RecordEvent() => _ingestor.Ingest(_events[_next++ & 1023]) is null;

    /// <summary>The same with a prediction id, so the memory store remembers it too.</summary>
    [Benchmark]
    public bool RecordEventWithJoinStore() => _ingestor.Ingest(_withIds[_next++ & ((1 << 18) - 1)]) is null;

    internal static PredictionEvent Event(Random random, int i, bool withId)
    {
        var e = new PredictionEvent
        {
            ModelName = "fraud-detector",
            ModelVersion = "v1",
            LatencySeconds = 0.005 + (random.NextDouble() * 0.05),
            Classification = new Classification { PredictedClass = i % 10 == 0 ? "fraud" : "legit", Confidence = 0.5 + (random.NextDouble() / 2) },
        };
        if (withId)
        {
            e.PredictionId = $"tx-{i:D8}";
        }

        foreach (var name in new[] { "amount", "age", "balance", "tenure", "score" })
        {
            e.Features[name] = random.NextDouble() * 100;
        }

        return e;
    }
}

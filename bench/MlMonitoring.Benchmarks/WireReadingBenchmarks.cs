using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using MlMonitoring.Sidecar.Ingest.Wire;
using MlMonitoring.V1;

namespace MlMonitoring.Benchmarks;

/// <summary>
/// Reading a streamed batch of 500 events (classifications with five features, half with a prediction id) off
/// the wire, per event: the generated Google.Protobuf parser, which the no-op server uses, against the sidecar's
/// <see cref="PredictionWireReader"/> into a pooled batch.
/// </summary>
[MemoryDiagnoser]
public class WireReadingBenchmarks
{
    private const int EventsPerBatch = 500;

    private byte[] _batch = null!;
    private IncomingBatch _incoming = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        var batch = new PredictionBatch();
        for (var i = 0; i < EventsPerBatch; i++)
        {
            batch.Events.Add(RecordingBenchmarks.Event(random, i, withId: i % 2 == 0));
        }

        _batch = batch.ToByteArray();
        _incoming = new IncomingBatch();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = EventsPerBatch)]
    public int GeneratedParser() => PredictionBatch.Parser.ParseFrom(_batch).Events.Count;

    [Benchmark(OperationsPerInvoke = EventsPerBatch)]
    public int WireReader()
    {
        _incoming.Lease();
        PredictionWireReader.ReadBatch(_batch, _incoming, maxEvents: 10_000);
        return _incoming.TotalCount;
    }
}

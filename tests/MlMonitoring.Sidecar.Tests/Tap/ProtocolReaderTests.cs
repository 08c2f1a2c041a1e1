using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using MlMonitoring.Inference.V2;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Tap;
using MlMonitoring.Sidecar.Tap.Protocols;
using MlMonitoring.Sidecar.Tests.Infrastructure;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Tests.Tap;

/// <summary>The protocol readers on calls built byte by byte: the awkward parts each protocol allows.</summary>
public sealed class ProtocolReaderTests : IDisposable
{
    private static readonly CaptureBudget Budget = new(long.MaxValue);

    private readonly TestMeterFactory _meters = new();
    private readonly ObservationContext _context;

    public ProtocolReaderTests()
    {
        var options = new TapOptions();
        options.Models["iris"] = new TapModelMapping { ClassOutput = "label", ClassNames = ["setosa", "versicolor", "virginica"], FeatureInputs = ["x", "colour"] };
        _context = new ObservationContext(options, new ObservedEvents(100), new TapMetrics(_meters));
    }

    private readonly List<System.Diagnostics.Metrics.MeterListener> _listeners = [];

    public void Dispose()
    {
        _listeners.ForEach(l => l.Dispose());
        _meters.Dispose();
    }

    [Fact]
    public void A_stream_read_across_writes_takes_the_first_token_time_from_the_write_that_completed_its_event()
    {
        var started = Stopwatch.GetTimestamp();
        var call = Call(TapOperation.ChatCompletions, """{"model":"m","stream":true}""", started);
        // A role-only chunk, then the first text split across two writes, a comment line, CRLF line ends, data: without its space.
        Write(call, "data: {\"id\":\"c1\",\"model\":\"m\",\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n", started + Ticks(10));
        Write(call, "data: {\"id\":\"c1\",\"model\":\"m\",\"choices\":[{\"delta\":{\"con", started + Ticks(40));
        Write(call, "tent\":\"Hel\"}}]}\r\n\r\n: keep-alive\n\n", started + Ticks(55));
        Write(call, "data:{\"id\":\"c1\",\"model\":\"m\",\"choices\":[{\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n", started + Ticks(80));
        call.Ended = started + Ticks(100);
        call.StatusCode = 200;

        var measured = OpenAiCompatible.Read(call, _context)!.Value;

        Assert.Equal(0.055, measured.TimeToFirstTokenSeconds!.Value, 1e-9);
        // No usage in the stream: two chunks carried text, so (100 - 55) ms over one token after the first.
        Assert.Null(measured.OutputTokens);
        Assert.Equal(0.045, measured.TimePerOutputTokenSeconds!.Value, 1e-9);
        Assert.Equal(["stop"], measured.FinishReasons);
        Assert.Equal(2, _context.Events.Span[0].Features.Entries.ToArray().Single(f => f.Key == "output_tokens").Value);
    }

    [Fact]
    public void An_error_inside_a_stream_fails_the_event_and_records_no_first_token()
    {
        var started = Stopwatch.GetTimestamp();
        var call = Call(TapOperation.Completions, """{"model":"m","stream":true}""", started);
        Write(call, "data: {\"model\":\"m\",\"choices\":[{\"text\":\"a\"}]}\n\n", started + Ticks(5));
        Write(call, "data: {\"error\":{\"message\":\"engine died\"}}\n\n", started + Ticks(6));
        call.Ended = started + Ticks(7);
        call.StatusCode = 200;

        var measured = OpenAiCompatible.Read(call, _context)!.Value;

        Assert.Equal("stream_error", measured.ErrorType);
        Assert.Null(measured.TimeToFirstTokenSeconds);
        Assert.Equal(PredictionEvent.ResultOneofCase.Error, _context.Events.Span[0].ResultCase);
        Assert.Equal(ErrorKind.Server, _context.Events.Span[0].ErrorKind);
    }

    [Fact]
    public void Raw_grpc_contents_are_read_little_endian_with_strings_length_prefixed()
    {
        var x = new byte[8];
        BinaryPrimitives.WriteHalfLittleEndian(x, (Half)1.5);
        BinaryPrimitives.WriteHalfLittleEndian(x.AsSpan(2), (Half)(-2));
        BinaryPrimitives.WriteHalfLittleEndian(x.AsSpan(4), (Half)0.25);
        BinaryPrimitives.WriteHalfLittleEndian(x.AsSpan(6), (Half)8);
        var colours = new List<byte>();
        foreach (var colour in new[] { "red", "green" })
        {
            colours.AddRange(BitConverter.GetBytes(colour.Length));
            colours.AddRange(Encoding.UTF8.GetBytes(colour));
        }

        var request = new ModelInferRequest
        {
            ModelName = "iris",
            Id = "r",
            Inputs =
            {
                new ModelInferRequest.Types.InferInputTensor { Name = "x", Datatype = "FP16", Shape = { 2, 2 } },
                new ModelInferRequest.Types.InferInputTensor { Name = "colour", Datatype = "BYTES", Shape = { 2, 1 } },
            },
            RawInputContents = { ByteString.CopyFrom(x), ByteString.CopyFrom([.. colours]) },
        };
        var response = new ModelInferResponse
        {
            ModelName = "iris",
            ModelVersion = "4",
            Outputs = { new ModelInferResponse.Types.InferOutputTensor { Name = "label", Datatype = "INT64", Shape = { 2 } } },
            RawOutputContents = { ByteString.CopyFrom([.. BitConverter.GetBytes(2L), .. BitConverter.GetBytes(0L)]) },
        };
        var call = new TappedCall(TapOperation.OpenInferenceGrpc, null, null, 1 << 20, Budget, Stopwatch.GetTimestamp());
        call.Request.Append(Framed(request));
        call.Response.Append(Framed(response));
        call.Ended = Stopwatch.GetTimestamp();
        call.GrpcStatus = 0;

        OpenInferenceGrpc.Read(call, _context);

        var events = _context.Events.Span.ToArray();
        Assert.Equal(["r/0", "r/1"], events.Select(e => e.PredictionId));
        Assert.All(events, e => Assert.Equal("4", e.ModelVersion));
        Assert.Equal(["virginica", "setosa"], events.Select(e => e.PredictedClass));
        Assert.Equal([1.5, 0.25], events.Select(e => e.Features.Entries.ToArray().Single(f => f.Key == "x_0").Value));
        Assert.Equal([-2.0, 8], events.Select(e => e.Features.Entries.ToArray().Single(f => f.Key == "x_1").Value));
        Assert.Equal(["red", "green"], events.Select(e => e.CategoricalFeatures.Entries.ToArray().Single().Value));
    }

    [Fact]
    public void A_compressed_grpc_message_is_skipped_and_counted_not_misread()
    {
        var call = new TappedCall(TapOperation.OpenInferenceGrpc, null, null, 1 << 20, Budget, Stopwatch.GetTimestamp());
        var framed = Framed(new ModelInferRequest { ModelName = "iris" });
        framed[0] = 1; // the compressed flag
        call.Request.Append(framed);
        call.Ended = Stopwatch.GetTimestamp();

        var skipped = ListenToSkips();

        OpenInferenceGrpc.Read(call, _context);

        Assert.Equal(0, _context.Events.Count);
        // The response was empty (a trailers-only answer): nothing to read, and nothing to count for it.
        Assert.Equal(["compressed"], skipped);
    }

    [Fact]
    public void A_gzipped_answer_is_counted_as_compressed_and_its_call_still_recorded_from_the_request()
    {
        var call = new TappedCall(TapOperation.OpenInferenceRest, "iris", "2", 1 << 20, Budget, Stopwatch.GetTimestamp());
        call.Request.Append(Encoding.UTF8.GetBytes(
            """{"id":"z","inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[0.5]},{"name":"colour","shape":[1],"datatype":"BYTES","data":["red"]}]}"""));
        call.Response.Append([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
        call.Response.ReadHeaders(new HeaderDictionary { ["Content-Encoding"] = "gzip" });
        call.StatusCode = 200;
        call.Ended = Stopwatch.GetTimestamp();
        var skipped = ListenToSkips();

        OpenInferenceRest.Read(call, _context);

        Assert.Equal(["compressed"], skipped);
        var e = Assert.Single(_context.Events.Span.ToArray());
        Assert.Equal(("z", "2", PredictionEvent.ResultOneofCase.None), (e.PredictionId, e.ModelVersion, e.ResultCase));
        Assert.Equal(0.5, e.Features.Entries.ToArray().Single().Value);
        Assert.Equal("red", e.CategoricalFeatures.Entries.ToArray().Single().Value);
    }

    private List<string> ListenToSkips()
    {
        var skipped = new List<string>();
        var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (_meters.Meters.Contains(instrument.Meter) && instrument.Name == "ml_sidecar_tap_skipped")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) => skipped.Add((string)tags[0].Value!));
        listener.Start();
        _listeners.Add(listener);
        return skipped;
    }

    private static TappedCall Call(TapOperation operation, string request, long started)
    {
        var call = new TappedCall(operation, null, null, 1 << 20, Budget, started);
        call.Request.Append(Encoding.UTF8.GetBytes(request));
        return call;
    }

    private static void Write(TappedCall call, string text, long at)
    {
        call.ResponseWrites.Mark(call.Response.Length, at);
        call.Response.Append(Encoding.UTF8.GetBytes(text));
    }

    private static long Ticks(int milliseconds) => Stopwatch.Frequency * milliseconds / 1000;

    private static byte[] Framed(IMessage message)
    {
        var body = message.ToByteArray();
        var framed = new byte[body.Length + 5];
        BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(1), (uint)body.Length);
        body.CopyTo(framed, 5);
        return framed;
    }
}

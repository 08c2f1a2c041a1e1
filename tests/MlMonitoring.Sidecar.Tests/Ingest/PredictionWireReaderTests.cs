using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Ingest.Wire;
using MlMonitoring.Sidecar.Tests.Infrastructure;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Tests.Ingest;

/// <summary>
/// The sidecar's wire reader against the generated Google.Protobuf parser on the same bytes: every field, every
/// merge rule, unknown fields, malformed input. One reader instance is reused across all cases, as the pool does,
/// so a field left over from a previous event would show up as a difference.
/// </summary>
public sealed class PredictionWireReaderTests
{
    private static readonly IncomingBatch Reused = new();

    private static Gen<string> Names => Gen.OneOf(
        Gen.Elements("", "a", "b", "amount", "fraud-detector", "ünïcødé-模型", new string('x', 128), new string('x', 200)),
        ArbMap.Default.GeneratorFor<string>().Select(s => s ?? ""));

    private static Gen<double> Doubles => Gen.OneOf(
        ArbMap.Default.GeneratorFor<double>(),
        Gen.Elements(double.NaN, double.PositiveInfinity, -0.0, 0.5, 1.0));

    private static Gen<(string, double)[]> NumericMap =>
        Gen.ArrayOf(from name in Names from value in Doubles select (name, value)).Select(a => a.Take(12).ToArray());

    private static Gen<PredictionEvent> Events =>
        from id in Names
        from model in Names
        from version in Names
        from latency in Doubles
        from time in Gen.OneOf(
            Gen.Constant<Timestamp?>(null),
            from seconds in ArbMap.Default.GeneratorFor<long>()
            from nanos in ArbMap.Default.GeneratorFor<int>()
            select (Timestamp?)new Timestamp { Seconds = seconds, Nanos = nanos })
        from kind in Gen.Choose(0, 3)
        from text in Names
        from number in Doubles
        from hasConfidence in ArbMap.Default.GeneratorFor<bool>()
        from scores in NumericMap
        from errorKind in Gen.Choose(-3, 6)
        from features in NumericMap
        from categories in Gen.ArrayOf(from name in Names from value in Names select (name, value)).Select(a => a.Take(6).ToArray())
        select Build(id, model, version, latency, time, kind, text, number, hasConfidence, scores, errorKind, features, categories);

    [Property(MaxTest = 300)]
    public Property Reads_every_field_as_the_generated_parser_does() =>
        Prop.ForAll(Events.ToArbitrary(), e => Same(e.ToByteArray()));

    /// <summary>
    /// Two messages concatenated are, by the protobuf rules, the first merged with the second: repeated map keys,
    /// a oneof switching member or merging into the same one, a timestamp merged field by field.
    /// </summary>
    [Property(MaxTest = 300)]
    public Property Reads_concatenated_messages_as_their_merge() =>
        Prop.ForAll(Events.ToArbitrary(), Events.ToArbitrary(), (a, b) => Same([.. a.ToByteArray(), .. b.ToByteArray()]));

    [Property(MaxTest = 300)]
    public Property A_truncated_message_is_refused_by_both_or_read_alike_by_both() =>
        Prop.ForAll(Events.ToArbitrary(), Gen.Choose(0, 10_000).ToArbitrary(), (e, cut) =>
        {
            var bytes = e.ToByteArray();
            var truncated = bytes.AsSpan(0, bytes.Length == 0 ? 0 : cut % bytes.Length).ToArray();
            PredictionEvent expected;
            try
            {
                expected = PredictionEvent.Parser.ParseFrom(truncated);
            }
            catch (InvalidProtocolBufferException)
            {
                return Throws(truncated);
            }

            return Same(truncated) && expected is not null;
        });

    [Fact]
    public void Unknown_fields_of_every_wire_type_are_skipped()
    {
        var e = Infrastructure.Events.Classified("m", "v1", "a", 0.9);
        e.Features["amount"] = 3;
        var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        output.WriteTag(100, WireFormat.WireType.Varint);
        output.WriteInt64(-5);
        output.WriteTag(101, WireFormat.WireType.Fixed64);
        output.WriteDouble(1);
        output.WriteTag(102, WireFormat.WireType.LengthDelimited);
        output.WriteString("ignored");
        output.WriteTag(103, WireFormat.WireType.Fixed32);
        output.WriteFloat(1);
        output.WriteTag(104, WireFormat.WireType.StartGroup);
        output.WriteTag(1, WireFormat.WireType.Varint);
        output.WriteInt32(7);
        output.WriteTag(104, WireFormat.WireType.EndGroup);
        // A known field number with the wrong wire type is an unknown field too.
        output.WriteTag(2, WireFormat.WireType.Varint);
        output.WriteInt32(9);
        output.Flush();
        byte[] bytes = [.. stream.ToArray(), .. e.ToByteArray(), .. stream.ToArray()];

        Assert.True(Same(bytes));
        Assert.Equal("m", Read(bytes).ModelName);
    }

    [Theory]
    [InlineData(new byte[] { 0x00 }, "invalid field tag")]
    [InlineData(new byte[] { 0x12, 0x05, 0x61 }, "overruns")]
    [InlineData(new byte[] { 0x29, 0x00, 0x00 }, "ends inside")]
    [InlineData(new byte[] { 0x0F }, "invalid wire type")]
    [InlineData(new byte[] { 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 }, "varint")]
    [InlineData(new byte[] { 0xA3, 0x06 }, "not closed")]
    [InlineData(new byte[] { 0x12, 0x03, 0xFF, 0x61, 0xC3 }, "not valid UTF-8")]
    [InlineData(new byte[] { 0x0A, 0x02, 0xC3, 0x28 }, "not valid UTF-8")]
    public void Malformed_bytes_are_refused_with_what_is_wrong(byte[] bytes, string reason)
    {
        Assert.Throws<InvalidProtocolBufferException>(() => PredictionEvent.Parser.ParseFrom(bytes));
        var error = Assert.Throws<MalformedMessageException>(() => Read(bytes));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Wide_maps_with_repeated_keys_keep_the_last_value_and_the_first_position()
    {
        // Past sixteen entries the reader finds repeated keys by hashing instead of scanning; both must agree.
        var first = Infrastructure.Events.Classified("m", "v1", "a", 0.5);
        var second = Infrastructure.Events.Classified("m", "v1", "a", 0.5);
        for (var i = 0; i < 200; i++)
        {
            first.Features[$"f{i % 70}"] = i;
            second.Features[$"f{(i * 7) % 90}"] = -i;
            second.CategoricalFeatures[$"c{i % 30}"] = $"v{i}";
        }

        byte[] bytes = [.. first.ToByteArray(), .. second.ToByteArray()];

        Assert.True(Same(bytes));
        Assert.Equal(90, Read(bytes).Features.Count);
        // The same reused event, now narrow: nothing of the wide one is left over.
        Assert.True(Same(Infrastructure.Events.Classified("m", "v1", "a", 0.5).ToByteArray()));
    }

    [Fact]
    public void A_batch_reads_no_more_events_than_its_limit_but_counts_them_all()
    {
        var batch = Infrastructure.Events.Batch([.. Enumerable.Range(0, 7).Select(i => Infrastructure.Events.Classified("m", $"v{i}", "a", 0.5))]);
        var incoming = new IncomingBatch();

        PredictionWireReader.ReadBatch(batch.ToByteArray(), incoming, maxEvents: 5);

        Assert.Equal(7, incoming.TotalCount);
        Assert.Equal(["v0", "v1", "v2", "v3", "v4"], incoming.Events.ToArray().Select(e => e.ModelVersion));
    }

    [Fact]
    public async Task Malformed_bytes_over_grpc_answer_invalid_argument_and_the_next_batch_is_counted()
    {
        using var sidecar = new SidecarFactory();
        var invoker = sidecar.CreateChannel().CreateCallInvoker();
        var raw = new Method<byte[], byte[]>(
            MethodType.Unary, "mlmonitoring.v1.PredictionMonitor", "RecordPredictions", Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));

        var error = await Assert.ThrowsAsync<RpcException>(async () => await invoker.AsyncUnaryCall(raw, null, default, new byte[] { 0x0A, 0x10, 0x12 }));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.StartsWith("malformed PredictionBatch: a field of 16 bytes overruns", error.Status.Detail, StringComparison.Ordinal);

        var response = await sidecar.CreateMonitorClient().RecordPredictionsAsync(Infrastructure.Events.Batch(Infrastructure.Events.Classified("m", "v1", "a", 0.5)));
        Assert.Equal(1UL, response.Accepted);
        Assert.Equal(1, (await sidecar.ScrapeAsync()).Value("ml_prediction_requests_total", ("model_name", "m"), ("model_version", "v1")));
    }

    private static IncomingPrediction Read(byte[] bytes)
    {
        Reused.Lease();
        var e = Reused.Next(1)!;
        PredictionWireReader.ReadEvent(bytes, e);
        return e;
    }

    private static bool Throws(byte[] bytes)
    {
        try
        {
            Read(bytes);
            return false;
        }
        catch (MalformedMessageException)
        {
            return true;
        }
    }

    /// <summary>Whether both parsers read the bytes to the same fields, maps in the same order.</summary>
    private static bool Same(byte[] bytes)
    {
        var expected = PredictionEvent.Parser.ParseFrom(bytes);
        var actual = Read(bytes);
        var classification = expected.Classification ?? new Classification();
        var regression = expected.Regression ?? new Regression();
        var error = expected.Error ?? new PredictionError();
        return actual.PredictionId == expected.PredictionId
            && actual.ModelName == expected.ModelName
            && actual.ModelVersion == expected.ModelVersion
            && actual.HasTime == (expected.Time is not null)
            && (expected.Time is null || (actual.TimeSeconds == expected.Time.Seconds && actual.TimeNanos == expected.Time.Nanos))
            && Bits(actual.LatencySeconds) == Bits(expected.LatencySeconds)
            && actual.ResultCase == expected.ResultCase
            && actual.PredictedClass == classification.PredictedClass
            && actual.HasConfidence == classification.HasConfidence
            && Bits(actual.Confidence) == Bits(classification.Confidence)
            && SameEntries(actual.ClassScores.Entries, classification.ClassScores, Bits)
            && Bits(actual.PredictedValue) == Bits(regression.PredictedValue)
            && actual.ErrorType == error.ErrorType
            && actual.ErrorKind == error.Kind
            && SameEntries(actual.Features.Entries, expected.Features, Bits)
            && SameEntries(actual.CategoricalFeatures.Entries, expected.CategoricalFeatures, v => v);
    }

    private static bool SameEntries<T, TKey>(ReadOnlySpan<KeyValuePair<string, T>> actual, IEnumerable<KeyValuePair<string, T>> expected, Func<T, TKey> key) =>
        actual.ToArray().Select(p => (p.Key, key(p.Value))).SequenceEqual(expected.Select(p => (p.Key, key(p.Value))));

    private static long Bits(double value) => BitConverter.DoubleToInt64Bits(value);

    private static PredictionEvent Build(
        string id, string model, string version, double latency, Timestamp? time, int kind, string text, double number, bool hasConfidence,
        (string, double)[] scores, int errorKind, (string, double)[] features, (string, string)[] categories)
    {
        var e = new PredictionEvent { PredictionId = id, ModelName = model, ModelVersion = version, LatencySeconds = latency, Time = time };
        switch (kind)
        {
            case 1:
                e.Classification = new Classification { PredictedClass = text };
                if (hasConfidence)
                {
                    e.Classification.Confidence = number;
                }

                foreach (var (name, score) in scores)
                {
                    e.Classification.ClassScores[name] = score;
                }

                break;
            case 2:
                e.Regression = new Regression { PredictedValue = number };
                break;
            case 3:
                e.Error = new PredictionError { ErrorType = text, Kind = (ErrorKind)errorKind };
                break;
        }

        foreach (var (name, value) in features)
        {
            e.Features[name] = value;
        }

        foreach (var (name, value) in categories)
        {
            e.CategoricalFeatures[name] = value;
        }

        return e;
    }
}

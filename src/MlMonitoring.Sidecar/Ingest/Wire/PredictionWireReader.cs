using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text;
using Google.Protobuf;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Ingest.Wire;

/// <summary>
/// Reads <c>PredictionBatch</c> and <c>PredictionEvent</c> from protobuf wire bytes into reusable
/// <see cref="IncomingPrediction"/> objects. The generated parser allocates a message per event and per
/// sub-message, a string per name and two nodes per map entry, and that garbage, not the recording, was what the
/// ingest path spent most on (WireReadingBenchmarks in BENCHMARKS.md).
/// </summary>
/// <remarks>
/// Semantics follow the protobuf specification as Google.Protobuf implements it: unknown fields (and known fields
/// with an unexpected wire type) are skipped; a oneof takes its last member, merging a member sent twice; a map key
/// sent twice keeps its last value; a sub-message sent twice is merged; a string that is not valid UTF-8 makes the
/// message malformed. The test suite compares it to the generated parser on random and hand-made messages.
/// </remarks>
internal static class PredictionWireReader
{
    private const int MaxGroupDepth = 100;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Decodes a string field; proto3 strings must be valid UTF-8.</summary>
    public static string DecodeString(ReadOnlySpan<byte> utf8)
    {
        try
        {
            return StrictUtf8.GetString(utf8);
        }
        catch (DecoderFallbackException)
        {
            throw new MalformedMessageException("a string field is not valid UTF-8");
        }
    }

    /// <summary>
    /// Reads a <c>PredictionBatch</c>. Events past <paramref name="maxEvents"/> are counted, not read: such a batch
    /// is refused whole.
    /// </summary>
    public static void ReadBatch(ReadOnlySpan<byte> data, IncomingBatch batch, int maxEvents)
    {
        var strings = Utf8StringCache.ForCurrentThread();
        var reader = new WireReader(data);
        while (!reader.End)
        {
            var tag = reader.ReadTag();
            if (tag == 10)
            {
                var bytes = reader.ReadLengthDelimited();
                if (batch.Next(maxEvents) is { } e)
                {
                    ReadEvent(bytes, e, strings);
                }
            }
            else
            {
                reader.SkipField(tag);
            }
        }
    }

    /// <summary>Reads a generated message as the service would receive it (tests and benchmarks).</summary>
    public static IncomingPrediction ReadEvent(PredictionEvent message)
    {
        var incoming = new IncomingPrediction();
        ReadEvent(message.ToByteArray(), incoming);
        return incoming;
    }

    /// <summary>Reads one <c>PredictionEvent</c> into <paramref name="e"/>, which it empties first.</summary>
    public static void ReadEvent(ReadOnlySpan<byte> data, IncomingPrediction e)
    {
        e.Reset();
        ReadEvent(data, e, Utf8StringCache.ForCurrentThread());
    }

    private static void ReadEvent(ReadOnlySpan<byte> data, IncomingPrediction e, Utf8StringCache strings)
    {
        var reader = new WireReader(data);
        while (!reader.End)
        {
            var tag = reader.ReadTag();
            switch (tag)
            {
                case 10:
                    // Ids are unique per event: caching them would only evict the names that do repeat.
                    e.PredictionId = reader.ReadString();
                    break;
                case 18:
                    e.ModelName = strings.Get(reader.ReadLengthDelimited());
                    break;
                case 26:
                    e.ModelVersion = strings.Get(reader.ReadLengthDelimited());
                    break;
                case 34:
                    ReadTimestamp(reader.ReadLengthDelimited(), e);
                    break;
                case 41:
                    e.LatencySeconds = reader.ReadDouble();
                    break;
                case 50:
                    Switch(e, PredictionEvent.ResultOneofCase.Classification);
                    ReadClassification(reader.ReadLengthDelimited(), e, strings);
                    break;
                case 58:
                    Switch(e, PredictionEvent.ResultOneofCase.Regression);
                    ReadRegression(reader.ReadLengthDelimited(), e);
                    break;
                case 66:
                    Switch(e, PredictionEvent.ResultOneofCase.Error);
                    ReadError(reader.ReadLengthDelimited(), e, strings);
                    break;
                case 74:
                    ReadNumericEntry(reader.ReadLengthDelimited(), e.Features, strings);
                    break;
                case 82:
                    ReadCategoricalEntry(reader.ReadLengthDelimited(), e.CategoricalFeatures, strings);
                    break;
                default:
                    reader.SkipField(tag);
                    break;
            }
        }
    }

    /// <summary>A oneof member replaces another; the same member sent again merges into it.</summary>
    private static void Switch(IncomingPrediction e, PredictionEvent.ResultOneofCase member)
    {
        if (e.ResultCase != member)
        {
            e.ResetResult();
            e.ResultCase = member;
        }
    }

    private static void ReadTimestamp(ReadOnlySpan<byte> data, IncomingPrediction e)
    {
        if (!e.HasTime)
        {
            e.HasTime = true;
            e.TimeSeconds = 0;
            e.TimeNanos = 0;
        }

        var reader = new WireReader(data);
        while (!reader.End)
        {
            var tag = reader.ReadTag();
            switch (tag)
            {
                case 8:
                    e.TimeSeconds = (long)reader.ReadVarint();
                    break;
                case 16:
                    e.TimeNanos = (int)reader.ReadVarint();
                    break;
                default:
                    reader.SkipField(tag);
                    break;
            }
        }
    }

    private static void ReadClassification(ReadOnlySpan<byte> data, IncomingPrediction e, Utf8StringCache strings)
    {
        var reader = new WireReader(data);
        while (!reader.End)
        {
            var tag = reader.ReadTag();
            switch (tag)
            {
                case 10:
                    e.PredictedClass = strings.Get(reader.ReadLengthDelimited());
                    break;
                case 17:
                    e.HasConfidence = true;
                    e.Confidence = reader.ReadDouble();
                    break;
                case 26:
                    ReadNumericEntry(reader.ReadLengthDelimited(), e.ClassScores, strings);
                    break;
                default:
                    reader.SkipField(tag);
                    break;
            }
        }
    }

    private static void ReadRegression(ReadOnlySpan<byte> data, IncomingPrediction e)
    {
        var reader = new WireReader(data);
        while (!reader.End)
        {
            var tag = reader.ReadTag();
            if (tag == 9)
            {
                e.PredictedValue = reader.ReadDouble();
            }
            else
            {
                reader.SkipField(tag);
            }
        }
    }

    private static void ReadError(ReadOnlySpan<byte> data, IncomingPrediction e, Utf8StringCache strings)
    {
        var reader = new WireReader(data);
        while (!reader.End)
        {
            var tag = reader.ReadTag();
            switch (tag)
            {
                case 10:
                    e.ErrorType = strings.Get(reader.ReadLengthDelimited());
                    break;
                case 16:
                    // An enum is an int32 on the wire; an unknown number is kept and refused by validation.
                    e.ErrorKind = (ErrorKind)(int)reader.ReadVarint();
                    break;
                default:
                    reader.SkipField(tag);
                    break;
            }
        }
    }

    private static void ReadNumericEntry(ReadOnlySpan<byte> data, NamedValues<double> map, Utf8StringCache strings)
    {
        var key = string.Empty;
        var value = 0.0;
        var reader = new WireReader(data);
        while (!reader.End)
        {
            var tag = reader.ReadTag();
            switch (tag)
            {
                case 10:
                    key = strings.Get(reader.ReadLengthDelimited());
                    break;
                case 17:
                    value = reader.ReadDouble();
                    break;
                default:
                    reader.SkipField(tag);
                    break;
            }
        }

        map.Set(key, value);
    }

    private static void ReadCategoricalEntry(ReadOnlySpan<byte> data, NamedValues<string> map, Utf8StringCache strings)
    {
        var key = string.Empty;
        var value = string.Empty;
        var reader = new WireReader(data);
        while (!reader.End)
        {
            var tag = reader.ReadTag();
            switch (tag)
            {
                case 10:
                    key = strings.Get(reader.ReadLengthDelimited());
                    break;
                case 18:
                    value = strings.Get(reader.ReadLengthDelimited());
                    break;
                default:
                    reader.SkipField(tag);
                    break;
            }
        }

        map.Set(key, value);
    }

    /// <summary>A cursor over one message's bytes.</summary>
    private ref struct WireReader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _position;

        public readonly bool End => _position >= _data.Length;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public uint ReadTag()
        {
            // Every tag of these messages fits in one byte.
            if (_position < _data.Length && _data[_position] is var first and < 0x80 and >= 8)
            {
                _position++;
                return first;
            }

            var tag = ReadVarint();
            if (tag > uint.MaxValue || (tag >> 3) == 0)
            {
                throw new MalformedMessageException($"invalid field tag {tag} at byte {_position}");
            }

            return (uint)tag;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public ulong ReadVarint()
        {
            if (_position < _data.Length && _data[_position] is var first and < 0x80)
            {
                _position++;
                return first;
            }

            return ReadLongVarint();
        }

        private ulong ReadLongVarint()
        {
            ulong result = 0;
            for (var shift = 0; shift < 70; shift += 7)
            {
                if (_position >= _data.Length)
                {
                    throw new MalformedMessageException("message ends inside a varint");
                }

                var b = _data[_position++];
                result |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return result;
                }
            }

            throw new MalformedMessageException($"varint longer than 10 bytes at byte {_position}");
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public double ReadDouble() => BinaryPrimitives.ReadDoubleLittleEndian(Take(8));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public ReadOnlySpan<byte> ReadLengthDelimited()
        {
            var length = ReadVarint();
            if (length > (ulong)(_data.Length - _position))
            {
                ThrowOverrun(length);
            }

            var span = _data.Slice(_position, (int)length);
            _position += (int)length;
            return span;
        }

        public string ReadString() => DecodeString(ReadLengthDelimited());

        public void SkipField(uint tag) => SkipField(tag, depth: 0);

        private void SkipField(uint tag, int depth)
        {
            switch (tag & 7)
            {
                case 0:
                    ReadVarint();
                    break;
                case 1:
                    Take(8);
                    break;
                case 2:
                    ReadLengthDelimited();
                    break;
                case 3:
                    SkipGroup(tag >> 3, depth + 1);
                    break;
                case 5:
                    Take(4);
                    break;
                default:
                    throw new MalformedMessageException($"invalid wire type {tag & 7} for field {tag >> 3}");
            }
        }

        private void SkipGroup(uint field, int depth)
        {
            if (depth > MaxGroupDepth)
            {
                throw new MalformedMessageException("groups nested too deeply");
            }

            while (true)
            {
                if (End)
                {
                    throw new MalformedMessageException($"group {field} is not closed");
                }

                var tag = ReadTag();
                if ((tag & 7) == 4)
                {
                    if (tag >> 3 != field)
                    {
                        throw new MalformedMessageException($"group {field} closed by the end of group {tag >> 3}");
                    }

                    return;
                }

                SkipField(tag, depth);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private ReadOnlySpan<byte> Take(int count)
        {
            if (count > _data.Length - _position)
            {
                ThrowTruncated();
            }

            var span = _data.Slice(_position, count);
            _position += count;
            return span;
        }

        [DoesNotReturn]
        private readonly void ThrowOverrun(ulong length) =>
            throw new MalformedMessageException($"a field of {length} bytes overruns its message at byte {_position}");

        [DoesNotReturn]
        private readonly void ThrowTruncated() => throw new MalformedMessageException($"message ends inside a field at byte {_position}");
    }
}

/// <summary>The bytes received are not a valid protobuf encoding of the expected message.</summary>
internal sealed class MalformedMessageException(string message) : Exception(message);

using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Google.Protobuf;
using MlMonitoring.V1;

namespace MlMonitoring.Client;

/// <summary>A serialized PredictionBatch in a pooled buffer; return it with <see cref="Return"/> once written.</summary>
internal sealed record EncodedBatch(byte[] Buffer, int Length)
{
    public void Return() => ArrayPool<byte>.Shared.Return(Buffer);
}

/// <summary>
/// Writes PredictionBatch wire bytes directly. The common event — a classification or regression without id or
/// features — repeats its model, version and class: those bytes are encoded once per combination and only the
/// doubles are written per event, so the sender spends tens of nanoseconds per event instead of building a
/// message object. Other events go through the generated message. Used by the sender thread only.
/// </summary>
internal sealed class WireEncoder
{
    private const byte BatchEventTag = 0x0A; // PredictionBatch.events = 1
    private const byte LatencyTag = 0x29;    // PredictionEvent.latency_seconds = 5, fixed64
    private const byte ConfidenceTag = 0x11; // Classification.confidence = 2, fixed64

    private readonly Dictionary<(string Model, string Version, string? Class, bool HasConfidence, RecordKind Kind), Template> _templates = [];
    private Template? _last;

    public EncodedBatch Encode(List<PredictionRecord> records)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(4096, records.Count * 64));
        var length = 0;
        foreach (var record in records)
        {
            if (record.PredictionId is null && record.Features is null && record.CategoricalFeatures is null && record.Kind != RecordKind.Error)
            {
                var template = TemplateFor(record);
                Ensure(ref buffer, length, template.Size);
                var span = buffer.AsSpan(length);
                template.Prefix.CopyTo(span);
                BinaryPrimitives.WriteDoubleLittleEndian(span[template.Prefix.Length..], record.LatencySeconds);
                var tail = span[(template.Prefix.Length + 8)..];
                template.Middle.CopyTo(tail);
                if (template.Middle.Length > 0 || record.Kind == RecordKind.Regression)
                {
                    BinaryPrimitives.WriteDoubleLittleEndian(tail[template.Middle.Length..], record.Kind == RecordKind.Regression ? record.Number : record.Confidence);
                }

                length += template.Size;
                continue;
            }

            var message = ToMessage(record);
            var size = message.CalculateSize();
            Ensure(ref buffer, length, size + 6);
            buffer[length++] = BatchEventTag;
            length += WriteVarint(buffer.AsSpan(length), (uint)size);
            message.WriteTo(buffer.AsSpan(length, size));
            length += size;
        }

        return new EncodedBatch(buffer, length);
    }

    private Template TemplateFor(in PredictionRecord record)
    {
        var hasConfidence = record.Kind == RecordKind.Classification && !double.IsNaN(record.Confidence);
        // Model servers pass the same string instances again and again: compare references before hashing.
        if (_last is { } last && ReferenceEquals(last.Model, record.ModelName) && ReferenceEquals(last.Version, record.ModelVersion)
            && ReferenceEquals(last.Class, record.Text) && last.HasConfidence == hasConfidence && last.Kind == record.Kind)
        {
            return last;
        }

        var key = (record.ModelName, record.ModelVersion, record.Kind == RecordKind.Classification ? record.Text : null, hasConfidence, record.Kind);
        if (!_templates.TryGetValue(key, out var template))
        {
            template = Template.Build(record, hasConfidence);
            if (_templates.Count < 100_000)
            {
                _templates[key] = template;
            }
        }

        _last = template;
        return template;
    }

    private static PredictionEvent ToMessage(in PredictionRecord r)
    {
        var e = new PredictionEvent { ModelName = r.ModelName, ModelVersion = r.ModelVersion, LatencySeconds = r.LatencySeconds };
        if (r.PredictionId is not null)
        {
            e.PredictionId = r.PredictionId;
        }

        switch (r.Kind)
        {
            case RecordKind.Classification:
                e.Classification = new Classification { PredictedClass = r.Text ?? "" };
                if (!double.IsNaN(r.Confidence))
                {
                    e.Classification.Confidence = r.Confidence;
                }

                break;
            case RecordKind.Regression:
                e.Regression = new Regression { PredictedValue = r.Number };
                break;
            default:
                e.Error = new PredictionError { ErrorType = r.Text ?? "", Kind = r.ErrorKind };
                break;
        }

        if (r.Features is not null)
        {
            foreach (var (name, value) in r.Features)
            {
                e.Features[name] = value;
            }
        }

        if (r.CategoricalFeatures is not null)
        {
            foreach (var (name, value) in r.CategoricalFeatures)
            {
                e.CategoricalFeatures[name] = value;
            }
        }

        return e;
    }

    private static void Ensure(ref byte[] buffer, int length, int needed)
    {
        if (length + needed <= buffer.Length)
        {
            return;
        }

        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(buffer.Length * 2, length + needed));
        buffer.AsSpan(0, length).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(buffer);
        buffer = bigger;
    }

    private static int WriteVarint(Span<byte> destination, uint value)
    {
        var i = 0;
        while (value > 0x7F)
        {
            destination[i++] = (byte)((value & 0x7F) | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }

    /// <summary>
    /// The bytes of one kind of event around its doubles: Prefix (batch tag, length, model, version, latency tag),
    /// latency, Middle (the result up to its double), then the confidence or predicted value.
    /// </summary>
    private sealed class Template
    {
        public required string Model { get; init; }

        public required string Version { get; init; }

        public string? Class { get; init; }

        public bool HasConfidence { get; init; }

        public RecordKind Kind { get; init; }

        public required byte[] Prefix { get; init; }

        public required byte[] Middle { get; init; }

        public int Size { get; init; }

        public static Template Build(in PredictionRecord record, bool hasConfidence)
        {
            var head = new List<byte>();
            AddString(head, 0x12, record.ModelName);
            if (record.ModelVersion.Length > 0)
            {
                AddString(head, 0x1A, record.ModelVersion);
            }

            head.Add(LatencyTag);
            var middle = new List<byte>();
            var trailing = 0;
            if (record.Kind == RecordKind.Classification)
            {
                var body = new List<byte>();
                if (!string.IsNullOrEmpty(record.Text))
                {
                    AddString(body, 0x0A, record.Text);
                }

                middle.Add(0x32); // PredictionEvent.classification = 6
                AddVarint(middle, (uint)(body.Count + (hasConfidence ? 9 : 0)));
                middle.AddRange(body);
                if (hasConfidence)
                {
                    middle.Add(ConfidenceTag);
                    trailing = 8;
                }
            }
            else
            {
                middle.AddRange([0x3A, 0x09, 0x09]); // PredictionEvent.regression = 7, length 9, predicted_value = 1 (fixed64)
                trailing = 8;
            }

            var eventLength = head.Count + 8 + middle.Count + trailing;
            var prefix = new List<byte> { BatchEventTag };
            AddVarint(prefix, (uint)eventLength);
            prefix.AddRange(head);
            return new Template
            {
                Model = record.ModelName,
                Version = record.ModelVersion,
                Class = record.Kind == RecordKind.Classification ? record.Text : null,
                HasConfidence = hasConfidence,
                Kind = record.Kind,
                Prefix = [.. prefix],
                Middle = [.. middle],
                Size = prefix.Count + 8 + middle.Count + trailing,
            };
        }

        private static void AddString(List<byte> bytes, byte tag, string text)
        {
            var data = Encoding.UTF8.GetBytes(text);
            bytes.Add(tag);
            AddVarint(bytes, (uint)data.Length);
            bytes.AddRange(data);
        }

        private static void AddVarint(List<byte> bytes, uint value)
        {
            while (value > 0x7F)
            {
                bytes.Add((byte)((value & 0x7F) | 0x80));
                value >>= 7;
            }

            bytes.Add((byte)value);
        }
    }
}

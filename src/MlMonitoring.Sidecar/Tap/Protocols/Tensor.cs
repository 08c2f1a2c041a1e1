using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using MlMonitoring.Inference.V2;

namespace MlMonitoring.Sidecar.Tap.Protocols;

/// <summary>
/// One input or output tensor of an inference call, read into numbers or strings (BYTES), row-major, whatever the
/// protocol carried it in: JSON <c>data</c> (flat or nested), typed gRPC contents, or raw little-endian bytes.
/// </summary>
internal sealed class Tensor
{
    private Tensor(string name, long[] shape, double[]? numbers, string[]? texts)
    {
        Name = name;
        Shape = shape;
        Numbers = numbers;
        Texts = texts;
    }

    public string Name { get; }

    public long[] Shape { get; }

    public double[]? Numbers { get; }

    public string[]? Texts { get; }

    public int Count => Numbers?.Length ?? Texts?.Length ?? 0;

    public bool IsText => Texts is not null;

    /// <summary>Instances along the first dimension (1 for a scalar).</summary>
    public long Batch => Shape.Length == 0 ? 1 : Shape[0];

    /// <summary>Values per instance, when the values divide evenly into <paramref name="instances"/>.</summary>
    public int WidthFor(int instances) => instances > 0 && Count % instances == 0 ? Count / instances : 0;

    public string Text(int index) => Texts is { } texts ? texts[index] : Numbers![index].ToString(CultureInfo.InvariantCulture);

    /// <summary>A tensor of the v2 REST JSON form; null when its data is not a list of numbers, booleans or strings.</summary>
    public static Tensor? FromJson(JsonElement tensor)
    {
        if (tensor.ValueKind != JsonValueKind.Object
            || !tensor.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String
            || !tensor.TryGetProperty("data", out var data))
        {
            return null;
        }

        var shape = tensor.TryGetProperty("shape", out var s) && s.ValueKind == JsonValueKind.Array
            ? [.. s.EnumerateArray().Select(d => d.TryGetInt64(out var v) ? v : 0)]
            : Array.Empty<long>();
        var texts = tensor.TryGetProperty("datatype", out var type) && type.ValueEquals("BYTES");
        var numbers = new List<double>();
        var strings = new List<string>();
        if (!Flatten(data, numbers, strings))
        {
            return null;
        }

        return texts || strings.Count > 0
            ? new Tensor(name.GetString()!, shape, null, [.. strings.Count > 0 ? strings : numbers.Select(n => n.ToString(CultureInfo.InvariantCulture))])
            : new Tensor(name.GetString()!, shape, [.. numbers], null);
    }

    /// <summary>A KServe v1 column: one value per instance, named <paramref name="name"/>.</summary>
    public static Tensor FromValues(string name, double[]? numbers, string[]? texts) =>
        new(name, [numbers?.Length ?? texts!.Length], numbers, texts);

    /// <summary>A tensor of a gRPC inference message; <paramref name="raw"/> is its entry of <c>raw_*_contents</c>, if any.</summary>
    public static Tensor? FromGrpc(string name, string datatype, IReadOnlyList<long> shape, InferTensorContents? contents, ByteString? raw)
    {
        long[] dims = [.. shape];
        if (raw is not null)
        {
            return FromRaw(name, datatype, dims, raw.Span);
        }

        if (contents is null)
        {
            return null;
        }

        return datatype switch
        {
            "BYTES" => new Tensor(name, dims, null, [.. contents.BytesContents.Select(b => b.ToStringUtf8())]),
            "BOOL" => new Tensor(name, dims, [.. contents.BoolContents.Select(b => b ? 1.0 : 0.0)], null),
            "FP32" or "FP16" or "BF16" => new Tensor(name, dims, [.. contents.Fp32Contents.Select(v => (double)v)], null),
            "FP64" => new Tensor(name, dims, [.. contents.Fp64Contents], null),
            "INT8" or "INT16" or "INT32" => new Tensor(name, dims, [.. contents.IntContents.Select(v => (double)v)], null),
            "INT64" => new Tensor(name, dims, [.. contents.Int64Contents.Select(v => (double)v)], null),
            "UINT8" or "UINT16" or "UINT32" => new Tensor(name, dims, [.. contents.UintContents.Select(v => (double)v)], null),
            "UINT64" => new Tensor(name, dims, [.. contents.Uint64Contents.Select(v => (double)v)], null),
            _ => null,
        };
    }

    private static Tensor? FromRaw(string name, string datatype, long[] shape, ReadOnlySpan<byte> raw)
    {
        if (datatype == "BYTES")
        {
            // Each element: a 4-byte little-endian length, then that many bytes.
            var texts = new List<string>();
            while (raw.Length >= 4)
            {
                var length = BinaryPrimitives.ReadInt32LittleEndian(raw);
                if (length < 0 || length > raw.Length - 4)
                {
                    return null;
                }

                texts.Add(Encoding.UTF8.GetString(raw.Slice(4, length)));
                raw = raw[(4 + length)..];
            }

            return raw.IsEmpty ? new Tensor(name, shape, null, [.. texts]) : null;
        }

        var size = datatype switch
        {
            "BOOL" or "INT8" or "UINT8" => 1,
            "INT16" or "UINT16" or "FP16" or "BF16" => 2,
            "INT32" or "UINT32" or "FP32" => 4,
            "INT64" or "UINT64" or "FP64" => 8,
            _ => 0,
        };
        if (size == 0 || raw.Length % size != 0)
        {
            return null;
        }

        var values = new double[raw.Length / size];
        for (var i = 0; i < values.Length; i++)
        {
            var element = raw.Slice(i * size, size);
            values[i] = datatype switch
            {
                "BOOL" => element[0] != 0 ? 1 : 0,
                "INT8" => (sbyte)element[0],
                "UINT8" => element[0],
                "INT16" => BinaryPrimitives.ReadInt16LittleEndian(element),
                "UINT16" => BinaryPrimitives.ReadUInt16LittleEndian(element),
                "FP16" => (double)BinaryPrimitives.ReadHalfLittleEndian(element),
                "BF16" => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(element) << 16),
                "INT32" => BinaryPrimitives.ReadInt32LittleEndian(element),
                "UINT32" => BinaryPrimitives.ReadUInt32LittleEndian(element),
                "FP32" => BinaryPrimitives.ReadSingleLittleEndian(element),
                "INT64" => BinaryPrimitives.ReadInt64LittleEndian(element),
                "UINT64" => BinaryPrimitives.ReadUInt64LittleEndian(element),
                _ => BinaryPrimitives.ReadDoubleLittleEndian(element),
            };
        }

        return new Tensor(name, shape, values, null);
    }

    private static bool Flatten(JsonElement element, List<double> numbers, List<string> strings)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    if (!Flatten(item, numbers, strings))
                    {
                        return false;
                    }
                }

                return true;
            case JsonValueKind.Number:
                numbers.Add(element.GetDouble());
                return strings.Count == 0;
            case JsonValueKind.True or JsonValueKind.False:
                numbers.Add(element.ValueKind == JsonValueKind.True ? 1 : 0);
                return strings.Count == 0;
            case JsonValueKind.String:
                strings.Add(element.GetString()!);
                return numbers.Count == 0;
            default:
                return false;
        }
    }
}

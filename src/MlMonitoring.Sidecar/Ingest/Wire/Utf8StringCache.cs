using System.Buffers.Binary;

namespace MlMonitoring.Sidecar.Ingest.Wire;

/// <summary>
/// Decoded strings by their UTF-8 bytes. Model names, versions, classes and feature names repeat in every event,
/// so decoding each one anew would be most of what reading an event allocates; a hit returns the same instance.
/// One per thread (the deserializer runs synchronously), two-way set-associative, fixed size: values that never
/// repeat, like a million distinct categories, only churn through it.
/// </summary>
internal sealed class Utf8StringCache
{
    /// <summary>Longer strings are decoded every time; they are over every name limit and refused anyway.</summary>
    public const int MaxCachedBytes = 128;

    private const int Size = 1024;

    [ThreadStatic]
    private static Utf8StringCache? t_current;

    private readonly byte[]?[] _utf8 = new byte[]?[Size];
    private readonly string[] _strings = new string[Size];

    public static Utf8StringCache ForCurrentThread() => t_current ??= new Utf8StringCache();

    public string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.IsEmpty)
        {
            return string.Empty;
        }

        if (utf8.Length > MaxCachedBytes)
        {
            return PredictionWireReader.DecodeString(utf8);
        }

        var first = Hash(utf8) & (Size - 1);
        var second = first ^ 1;
        if (_utf8[first] is { } a && utf8.SequenceEqual(a))
        {
            return _strings[first];
        }

        if (_utf8[second] is { } b && utf8.SequenceEqual(b))
        {
            return _strings[second];
        }

        var value = PredictionWireReader.DecodeString(utf8);
        var slot = _utf8[first] is null || _utf8[second] is not null ? first : second;
        _utf8[slot] = utf8.ToArray();
        _strings[slot] = value;
        return value;
    }

    /// <summary>
    /// A cheap hash of the length and the first and last eight bytes: names differ at their ends far more often
    /// than in their middles, and a collision only costs a comparison. It only places entries, so it need not resist
    /// chosen collisions: a sender that forces them slows its own names to a decode each.
    /// </summary>
    private static int Hash(ReadOnlySpan<byte> utf8)
    {
        ulong head, tail;
        if (utf8.Length >= 8)
        {
            head = BinaryPrimitives.ReadUInt64LittleEndian(utf8);
            tail = BinaryPrimitives.ReadUInt64LittleEndian(utf8[^8..]);
        }
        else
        {
            head = 0;
            for (var i = 0; i < utf8.Length; i++)
            {
                head = (head << 8) | utf8[i];
            }

            tail = 0;
        }

        var mixed = ((head * 0x9E3779B97F4A7C15UL) ^ (tail * 0xC2B2AE3D27D4EB4FUL) ^ (ulong)utf8.Length) * 0x165667B19E3779F9UL;
        return (int)(mixed >> 40);
    }
}

using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.SharedState;

/// <summary>
/// A pending prediction as the redis store keeps it: one string value per prediction, not a hash of fields, so that
/// remembering it is one <c>SET … NX PX</c> and one <c>ZADD</c> (two commands, not four; a third fewer bytes on the
/// wire; the values are formatted once per batch into one buffer).
/// </summary>
/// <remarks>
/// Layout, in UTF-8: the state (<c>0</c> pending, <c>1</c> labelled, <c>2</c> expired: the one byte the scripts
/// rewrite, with <c>SETRANGE</c>, which keeps the TTL), the kind (<c>c</c> classification, <c>r</c> regression), the
/// prediction time in Unix milliseconds and <c>|</c> (what the scripts read); then the model, version and class, each
/// as its byte length, <c>:</c> and its bytes; the value, <c>|</c>, and the confidence (empty when none was sent).
/// </remarks>
internal static class PackedPrediction
{
    /// <summary>Bytes a prediction takes at most besides its names: state, kind, time, lengths, value, confidence.</summary>
    private const int FixedMaxBytes = 2 + 20 + 1 + (3 * 11) + 32 + 1 + 16;

    /// <summary>Appends the packed prediction to <paramref name="buffer"/>; returns where it lies in it.</summary>
    public static (int Start, int Length) Write(ArrayBufferWriter<byte> buffer, in PendingPrediction prediction)
    {
        var model = prediction.Model.ModelName;
        var version = prediction.Model.ModelVersion;
        var predictedClass = prediction.PredictedClass?.Name ?? "";
        var span = buffer.GetSpan(FixedMaxBytes + Encoding.UTF8.GetMaxByteCount(model.Length + version.Length + predictedClass.Length));
        var at = 0;
        span[at++] = (byte)'0';
        span[at++] = prediction.IsClassification ? (byte)'c' : (byte)'r';
        at += Format(prediction.TimeMs, span[at..]);
        span[at++] = (byte)'|';
        at += WriteName(model, span[at..]);
        at += WriteName(version, span[at..]);
        at += WriteName(predictedClass, span[at..]);
        prediction.PredictedValue.TryFormat(span[at..], out var written, "R", CultureInfo.InvariantCulture);
        at += written;
        span[at++] = (byte)'|';
        if (!float.IsNaN(prediction.Confidence))
        {
            prediction.Confidence.TryFormat(span[at..], out written, "R", CultureInfo.InvariantCulture);
            at += written;
        }

        var start = buffer.WrittenCount;
        buffer.Advance(at);
        return (start, at);
    }

    /// <summary>The prediction in <paramref name="packed"/>, its series resolved in <paramref name="registry"/>.</summary>
    public static PendingPrediction Read(ReadOnlySpan<byte> packed, ModelVersionRegistry registry)
    {
        var isClassification = packed[1] == (byte)'c';
        var rest = packed[2..];
        var bar = rest.IndexOf((byte)'|');
        var timeMs = long.Parse(rest[..bar], CultureInfo.InvariantCulture);
        rest = rest[(bar + 1)..];
        var model = ReadName(ref rest);
        var version = ReadName(ref rest);
        var predictedClass = ReadName(ref rest);
        bar = rest.IndexOf((byte)'|');
        var value = double.Parse(rest[..bar], CultureInfo.InvariantCulture);
        var confidence = rest.Length == bar + 1 ? float.NaN : float.Parse(rest[(bar + 1)..], CultureInfo.InvariantCulture);
        var series = registry.Get(model, version);
        return new PendingPrediction(series, isClassification ? series.GetClass(predictedClass) : null, value, confidence, timeMs);
    }

    private static int Format(long value, Span<byte> into)
    {
        Utf8Formatter.TryFormat(value, into, out var written);
        return written;
    }

    private static int WriteName(string name, Span<byte> into)
    {
        var at = Format(Encoding.UTF8.GetByteCount(name), into);
        into[at++] = (byte)':';
        return at + Encoding.UTF8.GetBytes(name, into[at..]);
    }

    private static string ReadName(ref ReadOnlySpan<byte> rest)
    {
        var colon = rest.IndexOf((byte)':');
        var length = int.Parse(rest[..colon], CultureInfo.InvariantCulture);
        var name = Encoding.UTF8.GetString(rest.Slice(colon + 1, length));
        rest = rest[(colon + 1 + length)..];
        return name;
    }
}

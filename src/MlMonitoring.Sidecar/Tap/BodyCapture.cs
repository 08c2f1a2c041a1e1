using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http.Features;

namespace MlMonitoring.Sidecar.Tap;

/// <summary>
/// A bounded copy of one body, taken as its bytes pass through the tap. Past the bound, or past what the budget of
/// all copies allows, the copy is given up (its buffer returned at once) and the body flows on untouched. Buffers
/// come from the shared pool.
/// </summary>
internal sealed class BodyCapture(int limit, CaptureBudget budget)
{
    private byte[] _buffer = [];

    public int Length { get; private set; }

    /// <summary>The body was larger than the bound; nothing of it is kept.</summary>
    public bool Overflowed { get; private set; }

    /// <summary>The copies of all calls held as much as <c>Monitoring:Tap:MaxCapturedBytes</c>; nothing of this body is kept.</summary>
    public bool OverBudget { get; private set; }

    /// <summary>The copy was given up, for either reason.</summary>
    public bool GaveUp => Overflowed || OverBudget;

    /// <summary>The body had a <c>Content-Encoding</c> (gzip, deflate…), which the tap does not undo.</summary>
    public bool Encoded { get; private set; }

    /// <summary>
    /// Length of the JSON part of a v2 REST body that carries binary tensors after it (the binary data extension's
    /// <c>Inference-Header-Content-Length</c>); null for a body that is all JSON.
    /// </summary>
    public int? JsonLength { get; private set; }

    public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, Length);

    /// <summary>Notes what the body's headers say about how to read it.</summary>
    public void ReadHeaders(IHeaderDictionary headers)
    {
        Encoded = headers.TryGetValue("Content-Encoding", out var encoding) && encoding.Count > 0 && encoding[0] is { Length: > 0 } value
            && !value.Equals("identity", StringComparison.OrdinalIgnoreCase);
        JsonLength = headers.TryGetValue("Inference-Header-Content-Length", out var header)
            && int.TryParse(header.ToString(), System.Globalization.CultureInfo.InvariantCulture, out var length) && length >= 0
                ? length
                : null;
    }

    public void Append(ReadOnlySpan<byte> data)
    {
        if (GaveUp || data.IsEmpty)
        {
            return;
        }

        var needed = Length + data.Length;
        if (needed > limit)
        {
            Overflowed = true;
            Release();
            return;
        }

        if (needed > _buffer.Length)
        {
            // The pool rounds sizes up: what is reserved is what the buffer holds.
            var larger = ArrayPool<byte>.Shared.Rent(Math.Min(limit, Math.Max(needed, Math.Max(4096, _buffer.Length * 2))));
            if (!budget.TryReserve(larger.Length))
            {
                ArrayPool<byte>.Shared.Return(larger);
                OverBudget = true;
                Release();
                return;
            }

            _buffer.AsSpan(0, Length).CopyTo(larger);
            ReturnBuffer();
            _buffer = larger;
            _reserved = larger.Length;
        }

        data.CopyTo(_buffer.AsSpan(Length));
        Length = needed;
    }

    /// <summary>Gives the buffer back to the pool; the capture is empty afterwards.</summary>
    public void Release()
    {
        ReturnBuffer();
        _buffer = [];
        Length = 0;
    }

    private int _reserved;

    private void ReturnBuffer()
    {
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }

        budget.Release(_reserved);
        _reserved = 0;
    }
}

/// <summary>
/// The bytes all body copies may hold together (<c>Monitoring:Tap:MaxCapturedBytes</c>): a copy grows only by what it
/// can reserve here, and gives it back when released.
/// </summary>
internal sealed class CaptureBudget(long maxBytes)
{
    private long _held;

    /// <summary>Bytes reserved now.</summary>
    public long Held => Interlocked.Read(ref _held);

    /// <summary>Reserves <paramref name="bytes"/> if they fit under the budget.</summary>
    public bool TryReserve(long bytes)
    {
        var held = Interlocked.Add(ref _held, bytes);
        if (held <= maxBytes)
        {
            return true;
        }

        Interlocked.Add(ref _held, -bytes);
        return false;
    }

    public void Release(long bytes)
    {
        if (bytes > 0)
        {
            Interlocked.Add(ref _held, -bytes);
        }
    }
}

/// <summary>
/// When each part of a response body was written to the client, by the offset it started at: time to first token is
/// the time of the write that carried the first generated text, found once the stream is parsed. The first
/// <see cref="Capacity"/> writes are kept; a long stream's later writes are not needed for it.
/// </summary>
internal sealed class WriteTimeline
{
    public const int Capacity = 256;

    // Most responses are written in one or two writes; only a stream grows these.
    private long[] _offsets = new long[4];
    private long[] _timestamps = new long[4];

    public int Count { get; private set; }

    public void Mark(long offset, long timestamp)
    {
        if (Count == Capacity)
        {
            return;
        }

        if (Count == _offsets.Length)
        {
            Array.Resize(ref _offsets, Math.Min(Capacity, Count * 4));
            Array.Resize(ref _timestamps, _offsets.Length);
        }

        _offsets[Count] = offset;
        _timestamps[Count] = timestamp;
        Count++;
    }

    /// <summary>The <see cref="Stopwatch"/> time at which the byte at <paramref name="offset"/> was written; 0 when not kept.</summary>
    public long TimestampOf(long offset)
    {
        for (var i = Count - 1; i >= 0; i--)
        {
            if (_offsets[i] <= offset)
            {
                return i == Count - 1 && Count == Capacity ? 0 : _timestamps[i];
            }
        }

        return 0;
    }
}

/// <summary>The request body as the forwarder reads it, copied into a <see cref="BodyCapture"/> on the way.</summary>
internal sealed class CapturingReadStream(Stream inner, BodyCapture capture) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken);
        capture.Append(buffer.Span[..read]);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(Span<byte> buffer)
    {
        var read = inner.Read(buffer);
        capture.Append(buffer[..read]);
        return read;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>
/// The response body as the forwarder writes it to the client, copied into a <see cref="BodyCapture"/> after each
/// write has been handed on, with the time of each write.
/// </summary>
internal sealed class CapturingWriteStream(Stream inner, BodyCapture capture, WriteTimeline timeline) : Stream
{
    private long _written;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var arrived = Stopwatch.GetTimestamp();
        await inner.WriteAsync(buffer, cancellationToken);
        Observe(buffer.Span, arrived);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        var arrived = Stopwatch.GetTimestamp();
        inner.Write(buffer);
        Observe(buffer, arrived);
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override void Flush() => inner.Flush();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    /// <param name="written">The bytes handed on to the client.</param>
    /// <param name="arrived">When the forwarder had the bytes, before the client took them.</param>
    private void Observe(ReadOnlySpan<byte> written, long arrived)
    {
        if (written.IsEmpty)
        {
            return;
        }

        timeline.Mark(_written, arrived);
        _written += written.Length;
        capture.Append(written);
    }
}

/// <summary>
/// The response body feature of a tapped call: the server's own, with its stream seen through a
/// <see cref="CapturingWriteStream"/>. Starting and completing the response stay the server's, so that an HTTP/2
/// response ends as the upstream's did (a gRPC answer with its status in the headers only, or in trailers).
/// </summary>
internal sealed class CapturingResponseBodyFeature(IHttpResponseBodyFeature inner, BodyCapture capture, WriteTimeline timeline) : IHttpResponseBodyFeature
{
    private PipeWriter? _writer;

    public Stream Stream { get; } = new CapturingWriteStream(inner.Stream, capture, timeline);

    public PipeWriter Writer => _writer ??= PipeWriter.Create(Stream, new StreamPipeWriterOptions(leaveOpen: true));

    public void DisableBuffering() => inner.DisableBuffering();

    public Task StartAsync(CancellationToken cancellationToken = default) => inner.StartAsync(cancellationToken);

    public async Task CompleteAsync()
    {
        if (_writer is not null)
        {
            await _writer.FlushAsync();
        }

        await inner.CompleteAsync();
    }

    public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default) =>
        SendFileFallback.SendFileAsync(Stream, path, offset, count, cancellationToken);
}

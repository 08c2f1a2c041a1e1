using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace MlMonitoring.Sidecar.Tap;

/// <summary>
/// Lets a client of the tap's HTTP/1.1 listener half-close its connection once its request is sent and still read
/// the answer, as it would from the model server directly or through another proxy. Kestrel takes the end of the
/// client's bytes (its FIN) for the end of the connection and aborts the response of the request in flight, even
/// when the whole request had arrived; behind this middleware it learns of that end only once it has read every byte
/// before it and asks for more: after the response, or mid-request when the request was cut short. A client that
/// really left is still found out: the next write to it fails, which aborts the call.
/// </summary>
internal static class HalfClosedClients
{
    public static ConnectionDelegate Middleware(ConnectionDelegate next) => connection => next(new HalfClosableConnection(connection));

    /// <summary>The client's connection, its end of input told only when nothing is left to read before it.</summary>
    private sealed class HalfClosableConnection : ConnectionContext, IConnectionLifetimeFeature
    {
        private readonly ConnectionContext _inner;
        private readonly FeatureCollection _features;
        private IDuplexPipe _transport;

        public HalfClosableConnection(ConnectionContext inner)
        {
            _inner = inner;
            _transport = new Pipe(new EndTellingReader(inner.Transport.Input), inner.Transport.Output);
            // The transport's own lifetime feature signals ConnectionClosed on the FIN; this one leaves it to the reads.
            _features = new FeatureCollection(inner.Features);
            _features.Set<IConnectionLifetimeFeature>(this);
        }

        public override string ConnectionId
        {
            get => _inner.ConnectionId;
            set => _inner.ConnectionId = value;
        }

        public override IFeatureCollection Features => _features;

        public override IDictionary<object, object?> Items
        {
            get => _inner.Items;
            set => _inner.Items = value;
        }

        public override IDuplexPipe Transport
        {
            get => _transport;
            set => _transport = value;
        }

        public override EndPoint? LocalEndPoint
        {
            get => _inner.LocalEndPoint;
            set => _inner.LocalEndPoint = value;
        }

        public override EndPoint? RemoteEndPoint
        {
            get => _inner.RemoteEndPoint;
            set => _inner.RemoteEndPoint = value;
        }

        public override CancellationToken ConnectionClosed { get; set; } = CancellationToken.None;

        public override void Abort(ConnectionAbortedException abortReason) => _inner.Abort(abortReason);

        public override void Abort() => _inner.Abort();

        public override async ValueTask DisposeAsync()
        {
            await _inner.DisposeAsync();
            await base.DisposeAsync();
        }
    }

    private sealed record Pipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;

    /// <summary>
    /// Reports the end of the client's bytes only with nothing left before it that the reader has not examined: a
    /// read that returns data does not also say that none will follow.
    /// </summary>
    private sealed class EndTellingReader(PipeReader inner) : PipeReader
    {
        private SequencePosition _end;
        private bool _examinedAll;

        public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default) =>
            Hide(await inner.ReadAsync(cancellationToken));

        public override bool TryRead(out ReadResult result)
        {
            if (!inner.TryRead(out result))
            {
                return false;
            }

            result = Hide(result);
            return true;
        }

        public override void AdvanceTo(SequencePosition consumed)
        {
            _examinedAll = consumed.Equals(_end);
            inner.AdvanceTo(consumed);
        }

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
        {
            _examinedAll = examined.Equals(_end);
            inner.AdvanceTo(consumed, examined);
        }

        public override void CancelPendingRead() => inner.CancelPendingRead();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        private ReadResult Hide(ReadResult result)
        {
            _end = result.Buffer.End;
            // Data and the end together: the data first. Once the reader has examined all of it and asks again,
            // the end (the same buffer, completed) is told, so a request cut short still ends.
            return result.IsCompleted && !result.Buffer.IsEmpty && !_examinedAll
                ? new ReadResult(result.Buffer, result.IsCanceled, isCompleted: false)
                : result;
        }
    }
}

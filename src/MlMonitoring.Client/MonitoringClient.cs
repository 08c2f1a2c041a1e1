using System.Buffers;
using Google.Protobuf;
using System.Diagnostics.Metrics;
using Grpc.Core;
using Grpc.Net.Client;
using MlMonitoring.V1;

namespace MlMonitoring.Client;

/// <summary>
/// Records prediction events for the monitoring sidecar without ever blocking or failing the model server.
/// </summary>
/// <remarks>
/// <c>Record…</c> calls only write a value to a bounded queue; when it is full the oldest event is dropped and
/// counted (<see cref="Dropped"/>). A background sender batches the queue over the <c>StreamPredictions</c> stream,
/// with up to <see cref="MonitoringClientOptions.MaxInFlightBatches"/> batches unacknowledged; when the sidecar is
/// unavailable it keeps the unacknowledged batches, backs off (100 ms doubling to
/// <see cref="MonitoringClientOptions.MaxBackoff"/>) and sends them again on the next stream. Delayed labels and
/// business outcomes (<see cref="RecordGroundTruth(string, string, string?)"/>, <see cref="RecordOutcome"/>) have a
/// bounded queue and a sender of their own, so that they never wait behind a busy prediction stream.
/// </remarks>
public sealed class MonitoringClient : IAsyncDisposable
{
    /// <summary>The meter of the client's own counters (sent, rejected, dropped).</summary>
    public const string MeterName = "MlMonitoring.Client";

    private readonly MonitoringClientOptions _options;
    private readonly RecordBuffer _buffer;
    private readonly GrpcChannel _channel;
    private static readonly Method<EncodedBatch, RecordResponse> StreamMethod = new(
        MethodType.DuplexStreaming,
        "mlmonitoring.v1.PredictionMonitor",
        "StreamPredictions",
        // The batch is already wire bytes: the marshaller copies them into the request frame, nothing more.
        Marshallers.Create<EncodedBatch>(
            (batch, context) =>
            {
                context.SetPayloadLength(batch.Length);
                var writer = context.GetBufferWriter();
                writer.Write(batch.Buffer.AsSpan(0, batch.Length));
                context.Complete();
            },
            _ => throw new NotSupportedException("requests are only written")),
        Marshallers.Create(response => response.ToByteArray(), RecordResponse.Parser.ParseFrom));

    private readonly PredictionMonitor.PredictionMonitorClient _grpc;
    private readonly CallInvoker _invoker;
    private readonly WireEncoder _encoder = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Meter _meter = new(MeterName);
    private readonly Task _sender;
    private readonly FollowUpSender _followUps;
    private readonly Lock _settledGate = new();
    private readonly Queue<PredictionRecord> _retry = new();
    private readonly Stack<List<PredictionRecord>> _spareBatches = new();
    private long _recorded;
    private long _settled;
    private long _sent;
    private long _rejected;
    private long _dropped;
    private int _flushRequested;
    private int _batchLimit;
    private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public MonitoringClient(MonitoringClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _buffer = new RecordBuffer(options.Capacity);
        _batchLimit = options.MaxBatchSize;
        _channel = GrpcChannel.ForAddress(options.Endpoint);
        _invoker = _channel.CreateCallInvoker();
        _grpc = new PredictionMonitor.PredictionMonitorClient(_invoker);
        _meter.CreateObservableCounter("mlmonitoring_client_events_sent", () => Sent, description: "Events the sidecar accepted.");
        _meter.CreateObservableCounter("mlmonitoring_client_events_rejected", () => Rejected, description: "Events the sidecar refused as invalid.");
        _meter.CreateObservableCounter("mlmonitoring_client_events_dropped", () => Dropped, description: "Events dropped because the buffer was full.");
        _sender = Task.Run(SendLoopAsync);
        _followUps = new FollowUpSender(_grpc, options, SignalProgress);
    }

    /// <summary>Events the sidecar accepted.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Events the sidecar refused as invalid.</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>Events dropped, oldest first, because the buffer was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Labels the sidecar accepted (queued by <see cref="RecordGroundTruth(string, string, string?)"/>).</summary>
    public long LabelsSent => _followUps.LabelsSent;

    /// <summary>Labels the sidecar refused as invalid.</summary>
    public long LabelsRejected => _followUps.LabelsRejected;

    /// <summary>Labels dropped, oldest first, because their buffer was full.</summary>
    public long LabelsDropped => _followUps.LabelsDropped;

    /// <summary>Labels refused as retryable until <see cref="MonitoringClientOptions.RetryMaxAge"/> passed.</summary>
    public long LabelsGivenUp => _followUps.LabelsGivenUp;

    /// <summary>Outcomes refused as retryable until <see cref="MonitoringClientOptions.RetryMaxAge"/> passed.</summary>
    public long OutcomesGivenUp => _followUps.OutcomesGivenUp;

    /// <summary>Business outcomes the sidecar accepted.</summary>
    public long OutcomesSent => _followUps.OutcomesSent;

    /// <summary>Business outcomes the sidecar refused as invalid.</summary>
    public long OutcomesRejected => _followUps.OutcomesRejected;

    /// <summary>Business outcomes dropped, oldest first, because their buffer was full.</summary>
    public long OutcomesDropped => _followUps.OutcomesDropped;

    /// <summary>Predictions, labels and outcomes recorded and not yet acknowledged, rejected or dropped.</summary>
    public long Pending => Interlocked.Read(ref _recorded) - Interlocked.Read(ref _settled) + _followUps.Recorded - _followUps.Settled;

    /// <summary>Records a classification. Without <paramref name="confidence"/>, no confidence is recorded.</summary>
    public void RecordClassification(
        string modelName, string modelVersion, double latencySeconds, string predictedClass, double? confidence = null,
        string? predictionId = null, IReadOnlyDictionary<string, double>? features = null, IReadOnlyDictionary<string, string>? categoricalFeatures = null) =>
        Enqueue(new PredictionRecord(RecordKind.Classification, modelName, modelVersion, latencySeconds, predictedClass, 0,
            confidence ?? double.NaN, predictionId, features, categoricalFeatures));

    /// <summary>Records a regression output.</summary>
    public void RecordRegression(
        string modelName, string modelVersion, double latencySeconds, double predictedValue,
        string? predictionId = null, IReadOnlyDictionary<string, double>? features = null, IReadOnlyDictionary<string, string>? categoricalFeatures = null) =>
        Enqueue(new PredictionRecord(RecordKind.Regression, modelName, modelVersion, latencySeconds, null, predictedValue,
            double.NaN, predictionId, features, categoricalFeatures));

    /// <summary>Records a failed prediction; <paramref name="errorType"/> is the exception's type name.</summary>
    public void RecordError(string modelName, string modelVersion, double latencySeconds, string errorType, ErrorKind kind = ErrorKind.Server) =>
        Enqueue(new PredictionRecord(RecordKind.Error, modelName, modelVersion, latencySeconds, errorType, 0, double.NaN, null, null, null, kind));

    /// <summary>Queues the label of an earlier classification.</summary>
    /// <param name="predictionId">The id the prediction was recorded with.</param>
    /// <param name="actualClass">The true class.</param>
    /// <param name="modelName">A hint for the sidecar, used when the prediction is not found.</param>
    public void RecordGroundTruth(string predictionId, string actualClass, string? modelName = null) =>
        _followUps.Add(new GroundTruth { PredictionId = predictionId, ActualClass = actualClass, ModelName = modelName ?? "" });

    /// <summary>Queues the true value of an earlier regression sent with <paramref name="predictionId"/>.</summary>
    public void RecordGroundTruth(string predictionId, double actualValue, string? modelName = null) =>
        _followUps.Add(new GroundTruth { PredictionId = predictionId, ActualValue = actualValue, ModelName = modelName ?? "" });

    /// <summary>
    /// Queues a business outcome (<c>"conversion"</c>, <c>"revenue"</c>…) of <paramref name="value"/>, attributed to
    /// the prediction sent with <paramref name="predictionId"/>, or to <paramref name="modelName"/> when none is known.
    /// </summary>
    public void RecordOutcome(string kind, double value, string? predictionId = null, string? modelName = null) =>
        _followUps.Add(new Outcome { Kind = kind, Value = value, PredictionId = predictionId ?? "", ModelName = modelName ?? "" });

    /// <summary>Sends labels now and waits for the sidecar's answer (a unary call of its own, not queued).</summary>
    public async Task<RecordResponse> RecordGroundTruthAsync(IEnumerable<GroundTruth> labels, CancellationToken cancellationToken = default)
    {
        var batch = new GroundTruthBatch();
        batch.Labels.AddRange(labels);
        return await _grpc.RecordGroundTruthAsync(batch, cancellationToken: cancellationToken);
    }

    /// <summary>
    /// Waits until every prediction, label and outcome recorded before the call is acknowledged by the sidecar,
    /// rejected by it or dropped; throws <see cref="OperationCanceledException"/> when cancelled first.
    /// </summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        var target = Interlocked.Read(ref _recorded);
        var followUpTarget = _followUps.Recorded;
        while (true)
        {
            var progress = Volatile.Read(ref _progress);
            if (Interlocked.Read(ref _settled) >= target && _followUps.Settled >= followUpTarget)
            {
                return;
            }

            // Asked again on every turn: the sender may have been backing off, or between two waits, the last time.
            Volatile.Write(ref _flushRequested, 1);
            _buffer.Wake();
            _followUps.Wake();

            await progress.Task.WaitAsync(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>
    /// Waits, as <see cref="FlushAsync(CancellationToken)"/>, for at most <paramref name="timeout"/>: true when
    /// everything recorded before the call was settled, false when the time ran out first.
    /// </summary>
    public async Task<bool> FlushAsync(TimeSpan timeout)
    {
        using var expiry = new CancellationTokenSource(timeout);
        try
        {
            await FlushAsync(expiry.Token);
            return true;
        }
        catch (OperationCanceledException) when (expiry.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Drains what is buffered (for up to five seconds), then stops the senders and closes the channel.</summary>
    public async ValueTask DisposeAsync()
    {
        using (var drain = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            await FlushAsync(drain.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _buffer.Complete();
        await _stopping.CancelAsync();
        await _sender.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _followUps.DisposeAsync();
        _channel.Dispose();
        _meter.Dispose();
        _stopping.Dispose();
    }

    private void Enqueue(in PredictionRecord record)
    {
        Interlocked.Increment(ref _recorded);
        // Full: the oldest event made room. Completed: the client is being disposed and this one is dropped.
        // Either way one event is dropped and counted, and the caller is not bothered.
        if (!_buffer.TryAdd(record, out var droppedOldest) || droppedOldest)
        {
            CountDropped();
        }
    }

    private void CountDropped()
    {
        Interlocked.Increment(ref _dropped);
        Settle(1);
    }

    private void Settle(long events)
    {
        Interlocked.Add(ref _settled, events);
        SignalProgress();
    }

    /// <summary>Wakes the flushes waiting for progress.</summary>
    private void SignalProgress() =>
        Interlocked.Exchange(ref _progress, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    private async Task SendLoopAsync()
    {
        var backoff = new RetryBackoff(_options.MaxBackoff);
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                if (_retry.Count == 0 && !await _buffer.WaitAsync(1, Timeout.InfiniteTimeSpan, _stopping.Token))
                {
                    return;
                }

                await StreamAsync();
                backoff.Reset();
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException)
            {
                // The sidecar is absent, restarting or overloaded (UNAVAILABLE): keep buffering and try again.
                await backoff.WaitAsync(_stopping.Token);
            }
        }
    }

    /// <summary>One stream, kept open while events keep coming; closed after a second without any.</summary>
    private async Task StreamAsync()
    {
        using var call = _invoker.AsyncDuplexStreamingCall(StreamMethod, null, new CallOptions(cancellationToken: _stopping.Token));
        var inFlight = new Queue<List<PredictionRecord>>();
        using var credit = new SemaphoreSlim(_options.MaxInFlightBatches);
        // Cancelled when the acknowledgements end, so that a writer waiting for credit is not stranded.
        using var broken = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        var acknowledgements = Task.Run(async () =>
        {
            await foreach (var response in call.ResponseStream.ReadAllAsync(_stopping.Token))
            {
                List<PredictionRecord> batch;
                lock (inFlight)
                {
                    batch = inFlight.Dequeue();
                }

                Interlocked.Add(ref _sent, (long)response.Accepted);
                Interlocked.Add(ref _rejected, (long)response.Rejected);
                Settle(batch.Count);
                ReturnBatch(batch);
                credit.Release();
            }
        });
        _ = acknowledgements.ContinueWith(_ => broken.Cancel(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

        try
        {
            var idleSince = DateTime.UtcNow;
            var draining = false;
            while (!_stopping.IsCancellationRequested && !acknowledgements.IsCompleted)
            {
                draining |= Interlocked.Exchange(ref _flushRequested, 0) == 1;
                if (!draining && _retry.Count == 0)
                {
                    // Linger: under load batches leave full, and the sender wakes once per batch, not per record.
                    await _buffer.WaitAsync(_batchLimit, _options.FlushInterval, _stopping.Token);
                    draining = Interlocked.Exchange(ref _flushRequested, 0) == 1;
                }

                var records = TakeBatch();
                if (records.Count == 0)
                {
                    ReturnBatch(records);
                    draining = false;
                    if (DateTime.UtcNow - idleSince > TimeSpan.FromSeconds(1))
                    {
                        break;
                    }

                    continue;
                }

                idleSince = DateTime.UtcNow;
                // Counted as in flight before waiting for credit: whatever happens next, it is acknowledged or requeued.
                lock (inFlight)
                {
                    inFlight.Enqueue(records);
                }

                await credit.WaitAsync(broken.Token);

                var encoded = _encoder.Encode(records);
                try
                {
                    await call.RequestStream.WriteAsync(encoded, _stopping.Token);
                }
                finally
                {
                    encoded.Return();
                }
            }

            await call.RequestStream.CompleteAsync();
            await acknowledgements;
        }
        catch (Exception e) when (!_stopping.IsCancellationRequested)
        {
            var cause = acknowledgements.Exception?.InnerException ?? e;
            if (cause is RpcException { StatusCode: StatusCode.InvalidArgument } && RefuseFirstUnacknowledged(inFlight))
            {
                // Not a reason to back off: the next stream starts at once with smaller batches.
                RequeueUnacknowledged(inFlight);
                return;
            }

            RequeueUnacknowledged(inFlight);
            throw cause as RpcException ?? new RpcException(new Status(StatusCode.Unavailable, cause.Message));
        }

        // The sidecar may end the stream (it is shutting down) with batches still unanswered: they go again.
        RequeueUnacknowledged(inFlight);
    }

    /// <summary>Unacknowledged batches are sent again on the next stream, before anything newer.</summary>
    private void RequeueUnacknowledged(Queue<List<PredictionRecord>> inFlight)
    {
        lock (inFlight)
        {
            if (inFlight.Count == 0)
            {
                return;
            }

            var again = inFlight.SelectMany(b => b).Concat(_retry).ToList();
            inFlight.Clear();
            _retry.Clear();
            // The buffer's bound covers what waits for a retry too: past it, the oldest go, counted.
            var excess = again.Count + _buffer.Count - _options.Capacity;
            for (var i = 0; i < again.Count; i++)
            {
                if (i < excess)
                {
                    CountDropped();
                }
                else
                {
                    _retry.Enqueue(again[i]);
                }
            }
        }
    }

    /// <summary>
    /// The sidecar refused a whole batch (INVALID_ARGUMENT ends the stream): the oldest unacknowledged one, since
    /// batches are answered in order. Refused for its size (more than the sidecar's <c>Monitoring:MaxBatchSize</c>),
    /// it is split: later batches are half its size. A single event refused whole is counted as rejected. Without
    /// this, a batch the sidecar can never accept would be sent again forever and everything after it dropped.
    /// </summary>
    private bool RefuseFirstUnacknowledged(Queue<List<PredictionRecord>> inFlight)
    {
        lock (inFlight)
        {
            if (!inFlight.TryPeek(out var first))
            {
                return false;
            }

            if (first.Count > 1)
            {
                _batchLimit = Math.Max(1, first.Count / 2);
                return true;
            }

            inFlight.Dequeue();
        }

        Interlocked.Increment(ref _rejected);
        Settle(1);
        return true;
    }

    private List<PredictionRecord> TakeBatch()
    {
        List<PredictionRecord>? records;
        lock (_spareBatches)
        {
            _spareBatches.TryPop(out records);
        }

        records ??= new List<PredictionRecord>(_batchLimit);
        while (records.Count < _batchLimit && _retry.TryDequeue(out var retried))
        {
            records.Add(retried);
        }

        _buffer.TakeInto(records, _batchLimit - records.Count);
        return records;
    }

    /// <summary>Acknowledged batches' lists are kept for the next batches: at a few thousand records each, they are large objects.</summary>
    private void ReturnBatch(List<PredictionRecord> batch)
    {
        batch.Clear();
        lock (_spareBatches)
        {
            if (_spareBatches.Count <= _options.MaxInFlightBatches)
            {
                _spareBatches.Push(batch);
            }
        }
    }
}

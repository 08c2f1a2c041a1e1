using Grpc.Core;
using MlMonitoring.V1;

namespace MlMonitoring.Client;

/// <summary>
/// The follow-ups of predictions — delayed labels and business outcomes — queued without blocking the caller and
/// sent on a loop of their own as unary calls, so that they never wait behind a busy prediction stream. They are
/// few next to predictions: a message per entry is fine here. One the sidecar refuses as retryable (its shared
/// store away, too many labels waiting) is sent again after a pause that doubles up to <c>MaxBackoff</c>, until
/// <c>RetryMaxAge</c> has passed; it is settled only then, so a flush waits for it.
/// </summary>
internal sealed class FollowUpSender : IAsyncDisposable
{
    /// <summary>Most labels or outcomes per call.</summary>
    internal const int MaxBatch = 1000;

    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);

    private readonly PredictionMonitor.PredictionMonitorClient _grpc;
    private readonly MonitoringClientOptions _options;
    private readonly Action _onSettled;
    private readonly Queue<FollowUp> _queue = new();
    // Taken from the queue, not yet answered; sent again first after a failure. Touched by the loop alone.
    private readonly List<FollowUp> _unanswered = [];
    // Refused as retryable, by when each is due again. Touched by the loop alone; counted in the capacity.
    private readonly PriorityQueue<FollowUp, long> _refused = new();
    private int _refusedCount;
    private readonly SemaphoreSlim _signal = new(0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;
    private long _recorded;
    private long _settled;
    private long _labelsSent;
    private long _labelsRejected;
    private long _labelsDropped;
    private long _outcomesSent;
    private long _outcomesRejected;
    private long _outcomesDropped;
    private long _labelsGivenUp;
    private long _outcomesGivenUp;

    public FollowUpSender(PredictionMonitor.PredictionMonitorClient grpc, MonitoringClientOptions options, Action onSettled)
    {
        _grpc = grpc;
        _options = options;
        _onSettled = onSettled;
        _loop = Task.Run(SendLoopAsync);
    }

    public long Recorded => Interlocked.Read(ref _recorded);

    public long Settled => Interlocked.Read(ref _settled);

    public long LabelsSent => Interlocked.Read(ref _labelsSent);

    public long LabelsRejected => Interlocked.Read(ref _labelsRejected);

    public long LabelsDropped => Interlocked.Read(ref _labelsDropped);

    public long OutcomesSent => Interlocked.Read(ref _outcomesSent);

    public long OutcomesRejected => Interlocked.Read(ref _outcomesRejected);

    public long OutcomesDropped => Interlocked.Read(ref _outcomesDropped);

    public long LabelsGivenUp => Interlocked.Read(ref _labelsGivenUp);

    public long OutcomesGivenUp => Interlocked.Read(ref _outcomesGivenUp);

    public void Add(GroundTruth label) => Add(new FollowUp(label, null));

    public void Add(Outcome outcome) => Add(new FollowUp(null, outcome));

    /// <summary>Sends what is queued now rather than after the flush interval.</summary>
    public void Wake()
    {
        if (_signal.CurrentCount == 0)
        {
            _signal.Release();
        }
    }

    private void Add(FollowUp entry)
    {
        FollowUp? dropped = null;
        lock (_queue)
        {
            if (_queue.Count + Volatile.Read(ref _refusedCount) >= _options.Capacity && _queue.Count > 0)
            {
                dropped = _queue.Dequeue();
            }

            _queue.Enqueue(entry);
            Interlocked.Increment(ref _recorded);
        }

        if (dropped is { } oldest)
        {
            Interlocked.Increment(ref oldest.IsLabel ? ref _labelsDropped : ref _outcomesDropped);
            Settle(1);
        }

        Wake();
    }

    private async Task SendLoopAsync()
    {
        var backoff = new RetryBackoff(_options.MaxBackoff);
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                if (_unanswered.Count == 0 && !TakeRun())
                {
                    await _signal.WaitAsync(UntilNextRefusalIsDue(), _stopping.Token);
                    continue;
                }

                await SendUnansweredAsync();
                backoff.Reset();
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException)
            {
                // The sidecar is away or restarting: what was taken stays in _unanswered and goes again first.
                await backoff.WaitAsync(_stopping.Token);
            }
        }
    }

    /// <summary>
    /// Takes the refusals due again, else the oldest run of labels, or of outcomes, into <see cref="_unanswered"/>.
    /// </summary>
    private bool TakeRun()
    {
        var now = Environment.TickCount64;
        while (_unanswered.Count < MaxBatch && _refused.TryPeek(out var due, out var dueAt) && dueAt <= now
            && (_unanswered.Count == 0 || due.IsLabel == _unanswered[0].IsLabel))
        {
            _unanswered.Add(_refused.Dequeue());
            Interlocked.Decrement(ref _refusedCount);
        }

        if (_unanswered.Count > 0)
        {
            return true;
        }

        lock (_queue)
        {
            while (_unanswered.Count < MaxBatch && _queue.TryPeek(out var next)
                && (_unanswered.Count == 0 || next.IsLabel == _unanswered[0].IsLabel))
            {
                _unanswered.Add(_queue.Dequeue());
            }
        }

        return _unanswered.Count > 0;
    }

    private TimeSpan UntilNextRefusalIsDue() => _refused.TryPeek(out _, out var dueAt)
        ? TimeSpan.FromMilliseconds(Math.Clamp(dueAt - Environment.TickCount64, 0, (long)_options.FlushInterval.TotalMilliseconds))
        : _options.FlushInterval;

    private async Task SendUnansweredAsync()
    {
        var isLabel = _unanswered[0].IsLabel;
        ulong accepted;
        ulong rejected;
        RecordResponse? answer = null;
        try
        {
            var options = new CallOptions(deadline: DateTime.UtcNow + CallTimeout, cancellationToken: _stopping.Token);
            RecordResponse response;
            if (isLabel)
            {
                var batch = new GroundTruthBatch();
                batch.Labels.AddRange(_unanswered.Select(f => f.Label));
                response = await _grpc.RecordGroundTruthAsync(batch, options);
            }
            else
            {
                var batch = new OutcomeBatch();
                batch.Outcomes.AddRange(_unanswered.Select(f => f.Outcome));
                response = await _grpc.RecordOutcomesAsync(batch, options);
            }

            (accepted, rejected) = (response.Accepted, response.Rejected);
            answer = response;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.InvalidArgument)
        {
            // Refused whole (none of them valid, or too many): settled as rejected, not sent again forever.
            (accepted, rejected) = (0, (ulong)_unanswered.Count);
        }

        // Retryable refusals are always listed by index: those go again, within their age; the rest are final.
        var now = Environment.TickCount64;
        long retried = 0, givenUp = 0;
        foreach (var refusal in answer?.Rejections ?? [])
        {
            if (!refusal.Retryable || refusal.Index >= _unanswered.Count)
            {
                continue;
            }

            var entry = _unanswered[(int)refusal.Index];
            var refusedSince = entry.RefusedSince ?? now;
            if (now - refusedSince >= (long)_options.RetryMaxAge.TotalMilliseconds)
            {
                givenUp++;
                continue;
            }

            var pause = Math.Min(100L << Math.Min(entry.Refusals, 16), (long)_options.MaxBackoff.TotalMilliseconds);
            _refused.Enqueue(entry with { RefusedSince = refusedSince, Refusals = entry.Refusals + 1 }, now + pause);
            Interlocked.Increment(ref _refusedCount);
            retried++;
        }

        Interlocked.Add(ref isLabel ? ref _labelsSent : ref _outcomesSent, (long)accepted);
        Interlocked.Add(ref isLabel ? ref _labelsRejected : ref _outcomesRejected, (long)rejected - retried - givenUp);
        Interlocked.Add(ref isLabel ? ref _labelsGivenUp : ref _outcomesGivenUp, givenUp);
        var count = _unanswered.Count;
        _unanswered.Clear();
        Settle(count - retried);
    }

    private void Settle(long count)
    {
        Interlocked.Add(ref _settled, count);
        _onSettled();
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stopping.Dispose();
        _signal.Dispose();
    }

    /// <param name="Label">A label; null for an outcome.</param>
    /// <param name="Outcome">An outcome; null for a label.</param>
    /// <param name="RefusedSince">When the sidecar first refused it as retryable (Environment.TickCount64); null before.</param>
    /// <param name="Refusals">How many times it was refused as retryable.</param>
    private readonly record struct FollowUp(GroundTruth? Label, Outcome? Outcome, long? RefusedSince = null, int Refusals = 0)
    {
        public bool IsLabel => Label is not null;
    }
}

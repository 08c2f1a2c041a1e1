using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.GroundTruth;

/// <summary>
/// Labels and outcomes accepted before their prediction could be found, each waiting for it until its grace ends
/// (<c>Monitoring:GroundTruth:EarlyLabelGrace</c>), bounded in number (<c>MaxEarlyLabels</c>).
/// </summary>
/// <remarks>
/// A stream join meets its two sides out of order: the clients send a label at once while its prediction waits
/// for its batch, a replica's predictions reach the shared store through a queue, and after the store restarted
/// empty each replica writes its queue again only once it has reconnected. So a label that finds nothing is kept
/// and claimed again, with a growing pause, against the same store every replica writes to: it joins whichever
/// replica its prediction reached. The <see cref="GroundTruthJoiner"/> holds and retries them; this type only
/// orders them by when they are next due.
/// </remarks>
internal sealed class EarlyLabels(int capacity)
{
    private const long FirstRetryMs = 50;
    private const long LongestPauseMs = 1_000;

    private readonly Lock _gate = new();
    private readonly PriorityQueue<EarlyLabel, long> _byDue = new();
    private int _labels;
    private int _outcomes;

    /// <summary>Labels waiting now.</summary>
    public int Labels => Volatile.Read(ref _labels);

    /// <summary>Outcomes waiting now.</summary>
    public int Outcomes => Volatile.Read(ref _outcomes);

    /// <summary>Keeps a label or outcome until its prediction is found; false when <c>MaxEarlyLabels</c> already wait.</summary>
    public bool TryHold(EarlyLabel early)
    {
        lock (_gate)
        {
            // Those taken for a retry still wait: counted, not the queue.
            if (_labels + _outcomes >= capacity)
            {
                return false;
            }

            early.Tries = 0;
            _byDue.Enqueue(early, early.ReceivedMs + FirstRetryMs);
            Interlocked.Increment(ref early.Label is null ? ref _outcomes : ref _labels);
            return true;
        }
    }

    /// <summary>Takes every entry due at <paramref name="nowMs"/>; each is given back (<see cref="Wait"/>) or settled.</summary>
    public List<EarlyLabel> TakeDue(long nowMs)
    {
        var due = new List<EarlyLabel>();
        lock (_gate)
        {
            while (_byDue.TryPeek(out _, out var dueMs) && dueMs <= nowMs)
            {
                due.Add(_byDue.Dequeue());
            }
        }

        return due;
    }

    /// <summary>Takes every entry, due or not: the sidecar is stopping.</summary>
    public List<EarlyLabel> TakeAll() => TakeDue(long.MaxValue);

    /// <summary>Gives back a taken entry still within its grace, to be tried again after a pause that doubles each time.</summary>
    public void Wait(EarlyLabel early, long nowMs)
    {
        var pauseMs = Math.Min(LongestPauseMs, FirstRetryMs << Math.Min(++early.Tries, 10));
        lock (_gate)
        {
            _byDue.Enqueue(early, Math.Min(nowMs + pauseMs, early.DeadlineMs));
        }
    }

    /// <summary>A taken entry is done with: joined, counted, or attributed.</summary>
    public void Settle(EarlyLabel early) =>
        Interlocked.Decrement(ref early.Label is null ? ref _outcomes : ref _labels);
}

/// <summary>A label (or an outcome) waiting for its prediction.</summary>
/// <param name="Label">The label; null for an outcome.</param>
/// <param name="Outcome">The outcome; null for a label.</param>
/// <param name="ReceivedMs">When the sidecar accepted it, in Unix milliseconds: its time when it carries none.</param>
/// <param name="DeadlineMs">When it stops waiting.</param>
internal sealed record EarlyLabel(V1.GroundTruth? Label, Outcome? Outcome, long ReceivedMs, long DeadlineMs)
{
    /// <summary>Claims tried so far.</summary>
    public int Tries { get; set; }

    public string PredictionId => Label?.PredictionId ?? Outcome!.PredictionId;
}

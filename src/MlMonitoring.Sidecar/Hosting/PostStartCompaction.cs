namespace MlMonitoring.Sidecar.Hosting;

/// <summary>
/// Compacts the heap once, a moment after the host has started, and gives the memory it frees back to the system,
/// unless traffic has already begun.
/// </summary>
/// <remarks>
/// Starting leaves several MB behind that the ordinary collections do not give back: the garbage of configuration,
/// dependency injection and the endpoints being built, and the free space of the regions it was allocated in. A
/// collection only follows allocation, and then reuses that space rather than returning it, so a sidecar waiting for
/// its first event would hold it for as long as it waits (docs/performance-notes.md). The aggressive collection
/// that returns it pauses the process once, so it waits until
/// the start is over and the readiness probes are answered, and does not pause a process that traffic reached first
/// (which allocates its own way past the start anyway).
/// </remarks>
internal sealed partial class PostStartCompaction(IHostApplicationLifetime lifetime, ILogger<PostStartCompaction> logger)
    : IHostedService, IDisposable
{
    /// <summary>How long after the start the compaction waits.</summary>
    internal static readonly TimeSpan DelayAfterStart = TimeSpan.FromSeconds(1);

    /// <summary>
    /// More allocated than this in the meantime means traffic has begun: probes and scrapes allocate far less.
    /// </summary>
    internal const long TrafficAllocationBytes = 16 * 1024 * 1024;

    private CancellationTokenRegistration _registration;
    private Timer? _timer;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _registration = lifetime.ApplicationStarted.Register(() =>
        {
            var allocatedAtStart = GC.GetTotalAllocatedBytes();
            _timer = new Timer(_ => CompactIfIdle(allocatedAtStart), null, DelayAfterStart, Timeout.InfiniteTimeSpan);
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _registration.Dispose();
        _timer?.Dispose();
    }

    private void CompactIfIdle(long allocatedAtStart)
    {
        var allocated = GC.GetTotalAllocatedBytes() - allocatedAtStart;
        if (allocated > TrafficAllocationBytes || lifetime.ApplicationStopping.IsCancellationRequested)
        {
            LogSkipped(logger, allocated / 1024);
            return;
        }

        var residentBefore = Environment.WorkingSet;
        var pausedBefore = GC.GetTotalPauseDuration();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        var residentAfter = Environment.WorkingSet;
        var pause = GC.GetTotalPauseDuration() - pausedBefore;
        LogCompacted(logger, residentBefore / 1024, residentAfter / 1024, pause.TotalMilliseconds);
    }

    [LoggerMessage(EventId = 1, EventName = "CompactedAfterStart", Level = LogLevel.Debug,
        Message = "Heap compacted after start: {ResidentBeforeKiB} KiB resident before, {ResidentAfterKiB} KiB after, paused {PauseMs:F1} ms")]
    private static partial void LogCompacted(ILogger logger, long residentBeforeKiB, long residentAfterKiB, double pauseMs);

    [LoggerMessage(EventId = 2, EventName = "CompactionAfterStartSkipped", Level = LogLevel.Debug,
        Message = "No compaction after start: traffic began first ({AllocatedKiB} KiB allocated since the start)")]
    private static partial void LogSkipped(ILogger logger, long allocatedKiB);
}

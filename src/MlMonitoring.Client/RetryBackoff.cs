namespace MlMonitoring.Client;

/// <summary>The wait between attempts to reach the sidecar: 100 ms, doubling up to a ceiling, reset by a success.</summary>
internal sealed class RetryBackoff(TimeSpan ceiling)
{
    private static readonly TimeSpan First = TimeSpan.FromMilliseconds(100);
    private TimeSpan _next = First;

    public void Reset() => _next = First;

    /// <summary>Waits the current delay (returning early, without throwing, when cancelled) and doubles it.</summary>
    public async Task WaitAsync(CancellationToken cancellationToken)
    {
        var delay = _next;
        _next = TimeSpan.FromTicks(Math.Min(_next.Ticks * 2, ceiling.Ticks));
        await Task.Delay(delay, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }
}

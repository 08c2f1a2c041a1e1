namespace MlMonitoring.Sidecar.Core;

/// <summary>
/// Background work on a timer (sweeps, reads of the shared state): a failed round is reported and the next tick
/// tries again; stopping ends the loop without an exception.
/// </summary>
internal static class PeriodicWork
{
    /// <param name="interval">Time between rounds.</param>
    /// <param name="time">The clock (a fake one in tests).</param>
    /// <param name="work">One round.</param>
    /// <param name="onFailure">Told of a round that failed (cancellation aside).</param>
    /// <param name="firstRoundNow">Run a round at once, before the first tick.</param>
    /// <param name="stopping">Ends the loop.</param>
    public static async Task RunAsync(
        TimeSpan interval, TimeProvider time, Func<CancellationToken, Task> work, Action<Exception> onFailure, bool firstRoundNow, CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            if (!firstRoundNow && !await timer.WaitForNextTickAsync(stopping))
            {
                return;
            }

            do
            {
                try
                {
                    await work(stopping);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    onFailure(e);
                }
            }
            while (await timer.WaitForNextTickAsync(stopping));
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Stopping ends the loop. A host counts a cancelled task as a clean stop only once StopAsync was called;
            // a host whose start failed is disposed without it and would log the service as failed.
        }
    }
}

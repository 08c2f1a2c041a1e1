using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.SharedState;

namespace MlMonitoring.Sidecar.GroundTruth;

/// <summary>
/// Tries the labels and outcomes waiting for their prediction again as they fall due; when the sidecar stops,
/// tries each a last time and counts what still found nothing, so that no accepted label leaves uncounted.
/// </summary>
internal sealed class EarlyLabelRetrier(GroundTruthJoiner joiner, EarlyLabels early, SharedStateHealth health, TimeProvider time) : BackgroundService
{
    /// <summary>How often due entries are looked for: the shortest pause an entry waits.</summary>
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Longest a stop waits for entries still within their grace: their predictions may yet reach the shared store
    /// from another replica. Short next to a pod's termination grace period.
    /// </summary>
    private static readonly TimeSpan LongestWaitOnStop = TimeSpan.FromSeconds(5);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PeriodicWork.RunAsync(Tick, time, ct => joiner.RetryEarlyAsync(final: false, ct), e => health.ReportFailure("early-label", e), firstRoundNow: false, stoppingToken);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        var stopping = time.GetTimestamp();
        while (early.Labels + early.Outcomes > 0 && time.GetElapsedTime(stopping) < LongestWaitOnStop && !cancellationToken.IsCancellationRequested)
        {
            await joiner.RetryEarlyAsync(final: false, cancellationToken);
            await Task.Delay(Tick, time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        await joiner.RetryEarlyAsync(final: true, CancellationToken.None);
    }
}

namespace MlMonitoring.Sidecar.Tests.Infrastructure;

/// <summary>
/// Asserts something that background work makes true a moment later: the assertion is run again until it passes
/// or the time is up, and then fails with its own last message.
/// </summary>
public static class Eventually
{
    /// <summary>Runs <paramref name="assertion"/> until it stops throwing, for at most <paramref name="within"/> (default 10 s).</summary>
    public static async Task AssertAsync(Func<Task> assertion, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            try
            {
                await assertion();
                return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(25);
            }
        }
    }
}

namespace MlMonitoring.Sidecar.Tests.Infrastructure;

/// <summary>
/// Asserts something that background work makes true a moment later: the assertion is run again until it passes
/// or the time is up, and then fails with its own last message.
/// </summary>
public static class Eventually
{
    /// <summary>
    /// Runs <paramref name="assertion"/> until it stops throwing, for at most <paramref name="within"/> (default 10 s),
    /// <paramref name="pause"/> apart (default 25 ms; longer where each attempt costs the system under test).
    /// </summary>
    public static async Task AssertAsync(Func<Task> assertion, TimeSpan? within = null, TimeSpan? pause = null)
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
                await Task.Delay(pause ?? TimeSpan.FromMilliseconds(25));
            }
        }
    }

    /// <summary>Runs <paramref name="read"/> until it stops throwing, as <see cref="AssertAsync"/> does; returns what it read.</summary>
    public static async Task<T> ReturnsAsync<T>(Func<Task<T>> read, TimeSpan? within = null, TimeSpan? pause = null)
    {
        var result = default(T)!;
        await AssertAsync(async () => result = await read(), within, pause);
        return result;
    }
}

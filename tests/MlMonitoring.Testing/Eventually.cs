namespace MlMonitoring.Testing;

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

    /// <summary>
    /// Waits until <paramref name="condition"/> holds, checking it <paramref name="pause"/> apart (default 25 ms);
    /// past <paramref name="within"/>, throws a <see cref="TimeoutException"/> with <paramref name="whyNot"/>. An
    /// exception from the condition itself (a process that exited) ends the wait at once.
    /// </summary>
    public static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan within, Func<string> whyNot, TimeSpan? pause = null)
    {
        var deadline = DateTime.UtcNow + within;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"not within {within.TotalSeconds:0.#} s: {whyNot()}");
            }

            await Task.Delay(pause ?? TimeSpan.FromMilliseconds(25));
        }
    }

    /// <inheritdoc cref="WaitAsync(Func{Task{bool}}, TimeSpan, Func{string}, TimeSpan?)"/>
    public static Task WaitAsync(Func<bool> condition, TimeSpan within, Func<string> whyNot, TimeSpan? pause = null) =>
        WaitAsync(() => Task.FromResult(condition()), within, whyNot, pause);

    /// <summary>
    /// Reads until what is read satisfies <paramref name="done"/> or <paramref name="within"/> has passed, and
    /// returns the last read either way: for a caller that asserts on what it saw.
    /// </summary>
    public static async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan within, TimeSpan? pause = null)
    {
        var deadline = DateTime.UtcNow + within;
        var last = await read();
        while (!done(last) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(pause ?? TimeSpan.FromMilliseconds(25));
            last = await read();
        }

        return last;
    }

    /// <summary>Runs <paramref name="read"/> until it stops throwing, as <see cref="AssertAsync"/> does; returns what it read.</summary>
    public static async Task<T> ReturnsAsync<T>(Func<Task<T>> read, TimeSpan? within = null, TimeSpan? pause = null)
    {
        var result = default(T)!;
        await AssertAsync(async () => result = await read(), within, pause);
        return result;
    }
}

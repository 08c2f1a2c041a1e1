namespace MlMonitoring.Sidecar.Core;

/// <summary>
/// A value computed once per metrics collection and shared by the observable gauges read in it: one collection
/// reads several gauges of the same rolling windows, which should be merged once, not once per gauge.
/// </summary>
internal sealed class CollectionSnapshot<T>(TimeProvider time, Func<long, T> compute)
{
    /// <summary>Reads closer together than this belong to the same collection.</summary>
    private static readonly TimeSpan Reuse = TimeSpan.FromMilliseconds(250);

    private readonly Lock _gate = new();
    private DateTimeOffset _at = DateTimeOffset.MinValue;
    private T? _value;

    public T Get()
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (now - _at > Reuse || now < _at)
            {
                _value = compute(now.ToUnixTimeMilliseconds());
                _at = now;
            }

            return _value!;
        }
    }
}

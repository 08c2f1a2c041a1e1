namespace MlMonitoring.Sidecar.Core;

/// <summary>
/// A value computed once per metrics collection and shared by the observable gauges read in it: one collection
/// reads several gauges of the same rolling windows, which should be merged once, not once per gauge.
/// </summary>
/// <param name="time">The clock.</param>
/// <param name="reuse">Reads closer together than this belong to the same collection (<c>Monitoring:SnapshotReuse</c>).</param>
/// <param name="compute">Computes the value at a time, in Unix milliseconds.</param>
internal sealed class CollectionSnapshot<T>(TimeProvider time, TimeSpan reuse, Func<long, T> compute)
{
    private readonly Lock _gate = new();
    private DateTimeOffset _at = DateTimeOffset.MinValue;
    private T? _value;

    public T Get()
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (now - _at > reuse || now < _at || reuse == TimeSpan.Zero)
            {
                _value = compute(now.ToUnixTimeMilliseconds());
                _at = now;
            }

            return _value!;
        }
    }
}

namespace MlMonitoring.Sidecar.SharedState;

/// <summary>Windows a stopping replica hands over (<see cref="IWindowHandoverStore"/>).</summary>
internal sealed partial class MemorySharedStateStore
{
    // One process: what it hands over is only found by this instance (the in-process tests share one).
    public ValueTask HandOverWindowsAsync(byte[] windows, DateTimeOffset handedOverAt, CancellationToken cancellationToken)
    {
        lock (_handedOver)
        {
            _handedOver.Add((handedOverAt, windows));
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<byte[]?> TakeHandedOverWindowsAsync(DateTimeOffset handedOverBefore, DateTimeOffset discardBefore, CancellationToken cancellationToken)
    {
        lock (_handedOver)
        {
            _handedOver.RemoveAll(h => h.At < discardBefore);
            _handedOver.Sort((a, b) => a.At.CompareTo(b.At));
            if (_handedOver.Count == 0 || _handedOver[0].At >= handedOverBefore)
            {
                return ValueTask.FromResult<byte[]?>(null);
            }

            var oldest = _handedOver[0].Windows;
            _handedOver.RemoveAt(0);
            return ValueTask.FromResult<byte[]?>(oldest);
        }
    }
}

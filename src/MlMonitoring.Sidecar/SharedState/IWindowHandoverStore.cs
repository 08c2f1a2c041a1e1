namespace MlMonitoring.Sidecar.SharedState;

/// <summary>
/// Window counts a stopping replica leaves for one that stays, so that they stay in the fleet's figures until they
/// age out of their windows: the handover's part of the shared state. The counts are opaque to stores.
/// </summary>
internal interface IWindowHandoverStore
{
    /// <summary>Keeps a stopping replica's window counts for a replica that stays to take.</summary>
    ValueTask HandOverWindowsAsync(byte[] windows, DateTimeOffset handedOverAt, CancellationToken cancellationToken);

    /// <summary>
    /// Takes the oldest windows handed over before <paramref name="handedOverBefore"/>, exactly once however many
    /// replicas ask; those handed over before <paramref name="discardBefore"/> are dropped unread. Null when none.
    /// </summary>
    ValueTask<byte[]?> TakeHandedOverWindowsAsync(DateTimeOffset handedOverBefore, DateTimeOffset discardBefore, CancellationToken cancellationToken);
}

namespace MlMonitoring.Sidecar.SharedState;

/// <summary>
/// A store of the shared state: what the replicas of a model share. Each of its three roles has one caller and is
/// registered on its own — <see cref="IPendingPredictionStore"/> (the ground-truth join),
/// <see cref="ISharedBaselineStore"/> (drift), <see cref="IWindowHandoverStore"/> (the handover) — while one
/// store, in memory, SQLite or Redis, keeps all three, each in a file of its own beside the store's.
/// </summary>
internal interface ISharedStateStore : IPendingPredictionStore, ISharedBaselineStore, IWindowHandoverStore, IAsyncDisposable;

/// <summary>
/// The store cannot answer truthfully now: a label it would call unknown may belong to a prediction still waiting
/// in its write queue. The label is refused, to be sent again, rather than counted as unknown.
/// </summary>
internal sealed class SharedStateUnavailableException : Exception
{
    public SharedStateUnavailableException()
    {
    }

    public SharedStateUnavailableException(string message)
        : base(message)
    {
    }

    public SharedStateUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

using System.Globalization;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Tap;

/// <summary>
/// The prediction events one observed call turns into, one per instance, in the same form the gRPC contract's reader
/// fills (<see cref="IncomingPrediction"/>), so that they take the one path from validation on. Reused call after
/// call by the single observer.
/// </summary>
internal sealed class ObservedEvents(int maxEvents)
{
    private IncomingPrediction[] _events = [];

    public int Count { get; private set; }

    /// <summary>The call had more instances than <c>Monitoring:MaxBatchSize</c>; the first that many were kept.</summary>
    public bool Truncated { get; private set; }

    public ReadOnlyMemory<IncomingPrediction> Memory => _events.AsMemory(0, Count);

    public Span<IncomingPrediction> Span => _events.AsSpan(0, Count);

    /// <summary>No events: a call that could not be attributed to a model.</summary>
    public void Clear()
    {
        Count = 0;
        Truncated = false;
    }

    /// <summary>
    /// Starts <paramref name="instances"/> events (at most <c>Monitoring:MaxBatchSize</c>) of one model version with
    /// the call's latency; instance <c>i</c> of a batch of several gets the prediction id <c>&lt;id&gt;/&lt;i&gt;</c>.
    /// </summary>
    public void Start(int instances, string model, string version, double latencySeconds, string? predictionId)
    {
        Count = Math.Clamp(instances, 1, maxEvents);
        Truncated = instances > maxEvents;
        if (_events.Length < Count)
        {
            var larger = new IncomingPrediction[Math.Max(Count, _events.Length * 2)];
            _events.CopyTo(larger, 0);
            for (var i = _events.Length; i < larger.Length; i++)
            {
                larger[i] = new IncomingPrediction();
            }

            _events = larger;
        }

        for (var i = 0; i < Count; i++)
        {
            var e = _events[i];
            e.Reset();
            e.ModelName = model;
            e.ModelVersion = version;
            e.LatencySeconds = latencySeconds;
            e.PredictionId = string.IsNullOrEmpty(predictionId) ? string.Empty
                : Count == 1 ? predictionId
                : string.Create(CultureInfo.InvariantCulture, $"{predictionId}/{i}");
        }
    }

    /// <summary>Marks every event failed with <paramref name="kind"/> and the low-cardinality <paramref name="errorType"/>.</summary>
    public void Fail(ErrorKind kind, string errorType)
    {
        foreach (var e in Span)
        {
            e.ResultCase = PredictionEvent.ResultOneofCase.Error;
            e.ResetResult();
            e.ErrorKind = kind;
            e.ErrorType = errorType;
        }
    }
}

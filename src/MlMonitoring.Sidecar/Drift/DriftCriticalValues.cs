using System.Collections.Concurrent;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Drift;

/// <summary>
/// The critical values (<see cref="PsiCriticalValues"/>) of every compared signal: simulated once per baseline,
/// one signal after another on a background task, neither on the per-event path nor in the scrape that first asks.
/// </summary>
/// <remarks>
/// The level is <c>Monitoring:Drift:FalseAlarmRate</c> for a model version as a whole, split evenly among its
/// signals (Bonferroni): whichever signals a version has, the chance that any of them crosses its critical value
/// by chance at one evaluation is at most that rate. The simulation is seeded from the baseline's counts, so every
/// replica holding the fleet's baseline exports the same values.
/// </remarks>
internal sealed class DriftCriticalValues(double falseAlarmRate)
{
    private readonly ConcurrentDictionary<(ModelVersionState Model, string Signal, string Feature), Table> _tables = new();
    private readonly Lock _queueGate = new();
    private Task _queue = Task.CompletedTask;

    /// <summary>
    /// The factors of a signal compared with its baseline, one per interval of <see cref="PsiCriticalValues.WindowGrid"/>,
    /// or null while they are being simulated (which the first call for a baseline starts).
    /// </summary>
    /// <param name="model">The model version.</param>
    /// <param name="signal">The signal, with its baseline's counts.</param>
    /// <param name="signals">How many signals the version's baseline has: the level is shared among them.</param>
    public double[]? Get(ModelVersionState model, DriftSignal signal, int signals)
    {
        var alpha = falseAlarmRate / Math.Max(1, signals);
        var baseline = BaselineKey(signal);
        var key = (model, signal.Signal, signal.FeatureName);
        if (_tables.TryGetValue(key, out var table) && table.Baseline == baseline && table.Alpha == alpha)
        {
            return table.Factors;
        }

        var fresh = new Table(baseline, alpha);
        _tables[key] = fresh;
        var counts = signal.BaselineCounts.Select(c => (long)c).ToArray();
        lock (_queueGate)
        {
            _queue = _queue.ContinueWith(
                _ => fresh.Factors = PsiCriticalValues.Factors(counts, alpha),
                CancellationToken.None,
                TaskContinuationOptions.None,
                TaskScheduler.Default);
        }

        return null;
    }

    /// <summary>Forgets the values of versions no longer monitored.</summary>
    public void Retain(IReadOnlySet<ModelVersionState> models)
    {
        foreach (var key in _tables.Keys)
        {
            if (!models.Contains(key.Model))
            {
                _tables.TryRemove(key, out _);
            }
        }
    }

    /// <summary>Completes when every simulation asked for so far has completed.</summary>
    internal Task Idle
    {
        get
        {
            lock (_queueGate)
            {
                return _queue;
            }
        }
    }

    private static int BaselineKey(DriftSignal signal)
    {
        var hash = default(HashCode);
        foreach (var count in signal.BaselineCounts)
        {
            hash.Add(count);
        }

        return hash.ToHashCode();
    }

    private sealed class Table(int baseline, double alpha)
    {
        public int Baseline { get; } = baseline;

        public double Alpha { get; } = alpha;

        private volatile double[]? _factors;

        public double[]? Factors
        {
            get => _factors;
            set => _factors = value;
        }
    }
}

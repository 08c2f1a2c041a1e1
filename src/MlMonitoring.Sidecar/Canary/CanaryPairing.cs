using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Canary;

/// <summary>
/// Tells Prometheus which version each candidate is judged against, and with which margins: <c>ml_canary_info</c>
/// and <c>ml_canary_margin</c> for every version this sidecar sees other than <c>Monitoring:Canary:StableVersion</c>.
/// </summary>
/// <remarks>
/// The verdict itself needs both versions' traffic and labels, which no single sidecar has (a candidate runs in
/// pods of its own), so it is computed by Prometheus from every replica's counters (<c>ml-canary.yaml</c>); the
/// pairing is the one fact only the candidate's deployment knows.
/// </remarks>
internal sealed class CanaryPairing : IHostedService
{
    private readonly ModelVersionRegistry _registry;
    private readonly CanaryOptions _options;

    public CanaryPairing(ModelVersionRegistry registry, IOptions<CanaryOptions> options, IMeterFactory meterFactory)
    {
        _registry = registry;
        _options = options.Value;
        if (string.IsNullOrEmpty(_options.StableVersion))
        {
            return;
        }

        var meter = meterFactory.Create(MeterNames.Predictions);
        meter.CreateObservableGauge("ml_canary_info", ObserveCandidates,
            description: "1 for each candidate version, with the stable version it is judged against (Monitoring:Canary:StableVersion).");
        meter.CreateObservableGauge("ml_canary_margin", ObserveMargins,
            description: "How much worse than the stable version each candidate may be on a check (accuracy, errors, slow) and still pass.");
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private IEnumerable<ModelVersionState> Candidates() =>
        _registry.All.Where(m => m.ModelVersion != _options.StableVersion && m.ModelVersion != LabelNames.Overflow);

    private IEnumerable<Measurement<int>> ObserveCandidates()
    {
        foreach (var candidate in Candidates())
        {
            yield return new(1, [.. candidate.Tags, new("stable_version", _options.StableVersion)]);
        }
    }

    private IEnumerable<Measurement<double>> ObserveMargins()
    {
        foreach (var candidate in Candidates())
        {
            yield return new(_options.AccuracyMargin, [.. candidate.Tags, new("stable_version", _options.StableVersion), new("check", "accuracy")]);
            yield return new(_options.ErrorRateMargin, [.. candidate.Tags, new("stable_version", _options.StableVersion), new("check", "errors")]);
            yield return new(_options.SlowShareMargin, [.. candidate.Tags, new("stable_version", _options.StableVersion), new("check", "slow")]);
        }
    }
}

using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Slo;

/// <summary>
/// Says, once per model, when the SLO file names a model that has sent no prediction for a whole
/// <c>Monitoring:StatusWindow</c>: an SLO with an objective and no SLI, most often a name that differs from the one
/// the model server sends (<c>fraud_detector</c> against <c>fraud-detector</c>). The models seen are named with it.
/// Models of time-to-first-token objectives are not watched: the tap reports them under their GenAI names.
/// </summary>
internal sealed partial class SloTrafficWatch(
    SloCatalog catalog, ModelVersionRegistry registry, IOptions<MonitoringOptions> options, IOptions<SloOptions> sloOptions, TimeProvider time, ILogger<SloTrafficWatch> logger)
    : BackgroundService
{
    private readonly HashSet<string> _said = new(StringComparer.Ordinal);

    /// <summary>Looks once: warns about each SLO model not seen yet, unless it already did.</summary>
    public void Check()
    {
        var seen = registry.All.Select(m => m.ModelName).ToHashSet(StringComparer.Ordinal);
        foreach (var model in catalog.Objectives.Where(o => o.Kind != SloKind.TimeToFirstToken).Select(o => o.ModelName).Distinct())
        {
            if (!seen.Contains(model) && _said.Add(model))
            {
                LogSloModelSilent(logger, model, options.Value.StatusWindow, sloOptions.Value.SloFile ?? "", seen.Count == 0 ? "none" : string.Join(", ", seen.Order(StringComparer.Ordinal)));
            }
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => catalog.Objectives.Count == 0
        ? Task.CompletedTask
        : PeriodicWork.RunAsync(options.Value.StatusWindow, time, _ => { Check(); return Task.CompletedTask; }, _ => { }, firstRoundNow: false, stoppingToken);

    [LoggerMessage(EventId = 50, EventName = "SloModelSilent", Level = LogLevel.Warning,
        Message = "The SLO file names model '{ModelName}', which sent no prediction in {Window} (Monitoring:SloFile {SloFile}): its SLOs have an objective and no SLI. Models seen: {Seen}")]
    private static partial void LogSloModelSilent(ILogger logger, string modelName, TimeSpan window, string sloFile, string seen);
}

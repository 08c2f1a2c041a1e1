// MlMonitoring.Sidecar: receives prediction events from the model server in the same pod over gRPC and exports
// them as Prometheus and OTLP metrics. Read top to bottom, this file is the table of contents.
using MlMonitoring.Sidecar.Canary;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Drift;
using MlMonitoring.Sidecar.Export;
using MlMonitoring.Sidecar.GroundTruth;
using MlMonitoring.Sidecar.Handover;
using MlMonitoring.Sidecar.Hosting;
using MlMonitoring.Sidecar.Ingest;
using MlMonitoring.Sidecar.Metrics;
using MlMonitoring.Sidecar.Security;
using MlMonitoring.Sidecar.SharedState;
using MlMonitoring.Sidecar.Slo;
using MlMonitoring.Sidecar.Status;
using MlMonitoring.Sidecar.Tap;

if (CommandLine.Answer(args, Console.Out) is { } answered)
{
    return answered;    // --help, --version
}

if (SloCommand.IsCommand(args))
{
    return SloCommand.Run(args, Console.Out, Console.Error);
}

// The content root is the program's folder, not the current one: nothing the sidecar reads depends on where it
// was started from, and its settings have compiled-in defaults beneath the environment and the command line.
var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Configuration.AddSidecarDefaults();

// Every mistake in the settings is named, one line each, before anything is bound to them.
var settings = SettingsCheck.Check(builder.Configuration);
if (settings.Errors.Concat(ExportServiceCollectionExtensions.CheckOtlpSettings(builder.Configuration)).ToList() is { Count: > 0 } mistakes)
{
    return SettingsCheck.Refuse(mistakes);
}

builder.Configuration.AddInMemoryCollection(settings.Rewritten);

builder.Services
    .AddMonitoringCore()                        // shared settings, per-model-version state, self-metrics
    .AddIngest()                                // the gRPC contract: validation, overload protection, health, reflection
    .AddPredictionMetrics()                     // recording: the seed's instruments
    .AddSharedState()                           // what replicas share: pending predictions, baselines, windows
    .AddGroundTruth()                           // labels and outcomes joined to predictions; quality windows
    .AddDrift()                                 // drift against each version's baseline; estimated accuracy
    .AddWindowHandover()                        // a stopping replica's windows, adopted by one that stays
    .AddSlo()                                   // SLO file: latency buckets, SLO status
    .AddModelStatus()                           // GetModelStatus
    .AddCanaryPairing()                         // which version a candidate is judged against, for the verdict rules
    .AddTap(builder.Configuration)              // the inference-protocol tap in front of an unchanged model server
    .AddSecurity()                              // bearer tokens
    .AddExport(builder.Configuration)           // /metrics and OTLP
    .AddSidecarHosting(builder.Configuration, settings.Renamed);    // probes, start report, shutdown signal

var app = builder.Build();

// Every capability's settings are validated before the endpoints are mapped (mapping reads some of them): the
// invalid ones are logged in one line and the process exits with an error, instead of an unhandled exception.
if (!app.Services.ValidateSettings())
{
    // The console logger writes from a queue of its own: disposing the app flushes it, or the line that says
    // which setting is wrong can be lost with the process.
    await app.DisposeAsync();
    return 1;
}

if (SettingsCheck.UsesKestrel(app.Services) && SettingsCheck.CheckPorts(app.Configuration) is { Count: > 0 } taken)
{
    await app.DisposeAsync();
    return SettingsCheck.Refuse(taken);
}

app.UseTap();        // the tap's ports forward everything to the model server
app.UseRouting();
app.UseSecurity();
app.MapIngest();
app.MapExport();
app.MapProbes();

var lifetime = app.Lifetime;
try
{
    app.Run();
}
catch (Exception) when (!lifetime.ApplicationStarted.IsCancellationRequested)
{
    // A port in use or a setting refused at start: the host has logged why. Exit with an error instead of
    // aborting on an unhandled exception (SIGABRT, exit 134, a core dump where they are enabled).
    return 1;
}

return 0;

/// <summary>The entry point, visible to the in-process tests.</summary>
public partial class Program;

// MlMonitoring.Sidecar: receives prediction events from the model server in the same pod over gRPC and exports
// them as Prometheus and OTLP metrics. Read top to bottom, this file is the table of contents.
using MlMonitoring.Sidecar.Hosting;
using MlMonitoring.Sidecar.Slo;

if (SloCommand.IsCommand(args))
{
    return SloCommand.Run(args, Console.Out, Console.Error);
}

// The content root is the program's folder, not the current one: nothing the sidecar reads depends on where it
// was started from, and its settings have compiled-in defaults beneath the environment and the command line.
var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Configuration.AddSidecarDefaults();

builder.Services.AddMlMonitoringSidecar(builder.Configuration);

var app = builder.Build();

app.UseMlMonitoringSidecar();
app.MapMlMonitoringSidecar();

app.Run();
return 0;

/// <summary>The entry point, visible to the in-process tests.</summary>
public partial class Program;

using System.Runtime.CompilerServices;
using MlMonitoring.Sidecar.Tests.Infrastructure;

namespace MlMonitoring.Client.Tests;

/// <summary>Points the process fixtures at the sidecar built beside these tests, in the same configuration.</summary>
internal static class SidecarLocation
{
    [ModuleInitializer]
    internal static void Initialize()
    {
        // bin/<Configuration>/net10.0/ of this project → the same of the sidecar's.
        var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = framework.Parent!.Name;
        SidecarProcess.DllPath = Repository.PathOf("src", "MlMonitoring.Sidecar", "bin", configuration, framework.Name, "MlMonitoring.Sidecar.dll");
    }
}

namespace MlMonitoring.Testing;

/// <summary>Paths in the repository the tests were built from (found by walking up to the solution file).</summary>
public static class Repository
{
    private static readonly Lazy<string> RootPath = new(() =>
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "MlMonitoring.Sidecar.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"no MlMonitoring.Sidecar.sln above {AppContext.BaseDirectory}");
    });

    public static string Root => RootPath.Value;

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);
}

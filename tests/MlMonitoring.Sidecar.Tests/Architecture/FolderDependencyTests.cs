using System.Reflection;
using MlMonitoring.Sidecar.Core;
using NetArchTest.Rules;

namespace MlMonitoring.Sidecar.Tests.Architecture;

/// <summary>
/// The capability folders depend one way: everything on Core, the event path forward (ingest, then recording, then
/// the join and drift), reporters on what they report. docs/architecture.md draws this table.
/// </summary>
public sealed class FolderDependencyTests
{
    private const string Root = "MlMonitoring.Sidecar";
    private static readonly Assembly Sidecar = typeof(MonitoringOptions).Assembly;

    /// <summary>What each folder may use besides itself and the generated contract. Hosting is the composition root.</summary>
    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["Core"] = [],
        ["Metrics"] = ["Core"],
        ["SharedState"] = ["Core"],
        ["GroundTruth"] = ["Core", "Metrics", "SharedState"],
        ["Drift"] = ["Core", "Metrics", "SharedState"],
        ["Handover"] = ["Core", "SharedState", "GroundTruth", "Drift"],
        ["Slo"] = ["Core", "GroundTruth"],
        ["Status"] = ["Core", "GroundTruth", "Drift", "Slo"],
        ["Ingest"] = ["Core", "Metrics", "GroundTruth", "Drift", "Status"],
        ["Tap"] = ["Core", "Ingest", "Slo"],
        ["Canary"] = ["Core"],
        ["Export"] = ["Core"],
        ["Security"] = ["Core"],
        ["Hosting"] = ["Core", "Slo", "SharedState", "Ingest", "Tap", "Export"],
    };

    public static TheoryData<string> Folders => [.. Allowed.Keys];

    [Theory]
    [MemberData(nameof(Folders))]
    public void A_folder_uses_only_the_folders_it_is_allowed_to(string folder)
    {
        var forbidden = Allowed.Keys.Where(other => other != folder && !Allowed[folder].Contains(other)).Select(other => $"{Root}.{other}").ToArray();

        var result = Types.InAssembly(Sidecar).That().ResideInNamespace($"{Root}.{folder}").ShouldNot().HaveDependencyOnAny(forbidden).GetResult();

        Assert.True(result.IsSuccessful, $"{folder} uses a folder it may not ({string.Join(", ", forbidden)}): {string.Join(", ", result.FailingTypeNames ?? [])}");
    }

    [Fact]
    public void Every_folder_of_the_sidecar_has_a_place_in_the_table()
    {
        var folders = Sidecar.GetTypes()
            .Select(t => t.Namespace)
            .Where(ns => ns is not null && ns.StartsWith(Root + ".", StringComparison.Ordinal) && !ns.StartsWith("MlMonitoring.Sidecar.Tests", StringComparison.Ordinal))
            .Select(ns => ns!.Split('.')[2])
            .Distinct()
            .Order();

        Assert.Equal(Allowed.Keys.Order(), folders);
    }

    [Fact]
    public void The_allowed_dependencies_have_no_cycle()
    {
        var visiting = new HashSet<string>();
        var done = new HashSet<string>();

        void Visit(string folder, List<string> path)
        {
            if (done.Contains(folder))
            {
                return;
            }

            Assert.True(visiting.Add(folder), $"cycle: {string.Join(" -> ", path.Append(folder))}");
            foreach (var next in Allowed[folder])
            {
                Visit(next, [.. path, folder]);
            }

            visiting.Remove(folder);
            done.Add(folder);
        }

        foreach (var folder in Allowed.Keys)
        {
            Visit(folder, []);
        }
    }

    [Fact]
    public void The_check_finds_a_dependency_that_is_there()
    {
        // Guards the rule above against passing vacuously (a namespace typo would select no type at all).
        var result = Types.InAssembly(Sidecar).That().ResideInNamespace($"{Root}.Ingest").ShouldNot().HaveDependencyOn($"{Root}.Metrics").GetResult();

        Assert.False(result.IsSuccessful);
    }
}

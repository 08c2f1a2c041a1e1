using MlMonitoring.Sidecar.Tests.Infrastructure;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Tests.Drift;

[Trait("Parts", "Real")]
public sealed class BaselinePersistenceTests
{
    [Fact]
    public async Task A_pinned_baseline_survives_a_restart_with_the_sqlite_store_and_a_new_generation_discards_it()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("mlmon-baseline-").FullName, "join.db");
        var settings = new Dictionary<string, string>
        {
            ["Monitoring__SharedState__Store"] = "sqlite",
            ["Monitoring__SharedState__SqlitePath"] = path,
            ["Monitoring__Drift__BaselineSize"] = "100",
        };

        await using (var first = await SidecarProcess.StartAsync(settings))
        {
            var batch = new PredictionBatch();
            for (var i = 0; i < 100; i++)
            {
                var e = Events.Classified("fraud", "v1", i % 4 == 0 ? "fraud" : "legit", 0.9);
                e.Features["amount"] = i;
                batch.Events.Add(e);
            }

            await first.CreateMonitorClient().RecordPredictionsAsync(batch);
            Assert.True((await first.CreateMonitorClient().GetModelStatusAsync(new ModelStatusRequest { ModelName = "fraud" })).BaselinePinned);
            Assert.Equal(0, await first.Process.TerminateAsync(TimeSpan.FromSeconds(10)));
        }

        await using (var second = await SidecarProcess.StartAsync(settings))
        {
            var client = second.CreateMonitorClient();
            await client.RecordPredictionAsync(Events.Classified("fraud", "v1", "fraud", 0.9));

            var status = await client.GetModelStatusAsync(new ModelStatusRequest { ModelName = "fraud" });

            Assert.True(status.BaselinePinned);
            Assert.Equal(100UL, status.BaselineEvents);
            var classes = status.Drift.Single(s => s.Signal == "class");
            Assert.Equal(["legit", "fraud"], classes.Categories);
            Assert.Equal([75UL, 25UL, 0UL], classes.BaselineCounts);
            Assert.Equal([0UL, 1UL, 0UL], classes.CurrentCounts);
            Assert.Equal(0, await second.Process.TerminateAsync(TimeSpan.FromSeconds(10)));
        }

        settings["Monitoring__Drift__BaselineGeneration"] = "2";
        await using var third = await SidecarProcess.StartAsync(settings);
        await third.CreateMonitorClient().RecordPredictionAsync(Events.Classified("fraud", "v1", "fraud", 0.9));
        var repinned = await third.CreateMonitorClient().GetModelStatusAsync(new ModelStatusRequest { ModelName = "fraud" });
        Assert.Equal((false, 1UL), (repinned.BaselinePinned, repinned.BaselineEvents));
    }
}

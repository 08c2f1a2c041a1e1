using MlMonitoring.Sidecar.Tests.Infrastructure;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Tests.EndToEnd;

/// <summary>
/// One drift baseline per model version for a fleet of sidecar processes sharing a real redis-server: replicas
/// already running adopt the first one completed, a replica started after a shift compares with it (and sees the
/// shift), and a pin on one replica re-pins all of them.
/// </summary>
public sealed class FleetBaselineEndToEndTests
{
    private const int BaselineSize = 200;

    [Fact]
    public async Task Replicas_share_one_baseline_a_late_replica_sees_the_shift_and_a_pin_on_one_repins_all()
    {
        await using var redis = await RedisServer.StartAsync();
        var settings = new Dictionary<string, string>
        {
            ["Monitoring__Replicated"] = "true",
            ["Monitoring__GroundTruth__Store"] = "redis",
            ["Monitoring__GroundTruth__RedisConfiguration"] = redis.Configuration,
            ["Monitoring__Drift__BaselineSize"] = BaselineSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Monitoring__Drift__SyncInterval"] = "00:00:00.200",
        };
        await using var first = await SidecarProcess.StartAsync(settings);
        await using var second = await SidecarProcess.StartAsync(settings);
        var random = new Random(17);

        // The second replica has begun capturing its own baseline when the first completes one: it adopts the first's.
        await SendAsync(second, random, 50, shift: 0);
        await SendAsync(first, random, BaselineSize, shift: 0);
        await WaitForBaselineAsync(first, BaselineSize);
        await WaitForBaselineAsync(second, BaselineSize);
        var fleetBaseline = await BaselineOfAsync(first, random);
        Assert.Equal(fleetBaseline, await BaselineOfAsync(second, random));

        // Feature x shifts by one standard deviation; a third replica starts after it, on the fleet's baseline.
        await using var late = await SidecarProcess.StartAsync(settings);
        await SendAsync(late, random, 300, shift: 1);
        await SendAsync(first, random, 300, shift: 0);
        var lateStatus = await StatusAsync(late);
        Assert.Equal(fleetBaseline, BaselineCounts(lateStatus));
        Assert.True(FeaturePsi(lateStatus) > 0.25, $"the late replica compares with the fleet's baseline and sees the shift: PSI {FeaturePsi(lateStatus)}");
        Assert.True(FeaturePsi(await StatusAsync(first)) < 0.1, $"unshifted traffic: PSI {FeaturePsi(await StatusAsync(first))}");

        // A pin on the second replica: every replica captures again, and the one that completes it sets it for all.
        Assert.Equal(100UL, (await second.CreateMonitorClient().PinBaselineAsync(new PinBaselineRequest { ModelName = "fraud", ModelVersion = "v1", BaselineSize = 100 })).BaselineSize);
        foreach (var replica in new[] { first, late })
        {
            await WaitForAsync(replica, s => !s.BaselinePinned, "captures again after the pin on another replica");
        }

        await SendAsync(late, random, 100, shift: 1);
        await WaitForBaselineAsync(late, 100);
        var repinned = await BaselineOfAsync(late, random);
        Assert.NotEqual(fleetBaseline, repinned);
        foreach (var replica in new[] { first, second })
        {
            await WaitForBaselineAsync(replica, 100);
            Assert.Equal(repinned, await BaselineOfAsync(replica, random));
        }

        // On the new baseline the shifted traffic is the norm: the late replica no longer reports drift.
        await SendAsync(late, random, 300, shift: 1);
        Assert.True(FeaturePsi(await StatusAsync(late)) < 0.25);
    }

    private static async Task SendAsync(SidecarProcess replica, Random random, int count, double shift)
    {
        var batch = new PredictionBatch();
        for (var i = 0; i < count; i++)
        {
            var e = Events.Classified("fraud", "v1", random.NextDouble() < 0.8 ? "legit" : "fraud", 0.5 + (random.NextDouble() / 2));
            e.Features["x"] = Normal(random) + shift;
            batch.Events.Add(e);
        }

        Assert.Equal((ulong)count, (await replica.CreateMonitorClient().RecordPredictionsAsync(batch)).Accepted);
    }

    private static double Normal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    private static Task<ModelStatus> StatusAsync(SidecarProcess replica) =>
        replica.CreateMonitorClient().GetModelStatusAsync(new ModelStatusRequest { ModelName = "fraud", ModelVersion = "v1" }).ResponseAsync;

    private static Task<ModelStatus> WaitForBaselineAsync(SidecarProcess replica, int size) =>
        WaitForAsync(replica, s => s.BaselinePinned && s.BaselineEvents == (ulong)size, $"a baseline of {size} events");

    private static async Task<ModelStatus> WaitForAsync(SidecarProcess replica, Func<ModelStatus, bool> done, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var status = await StatusAsync(replica);
            if (done(status))
            {
                return status;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"replica on port {replica.GrpcPort} never reached {what}: {status}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>A replica's baseline, as it reports it once it has traffic to compare with it.</summary>
    private static async Task<string> BaselineOfAsync(SidecarProcess replica, Random random)
    {
        await SendAsync(replica, random, 10, shift: 0);
        return BaselineCounts(await StatusAsync(replica));
    }

    /// <summary>The baseline's bins and counts of every compared signal: equal on two replicas only if it is the same baseline.</summary>
    private static string BaselineCounts(ModelStatus status) =>
        string.Join(" | ", status.Drift.Select(s => $"{s.Signal}/{s.FeatureName}: {string.Join(",", s.Edges)} {string.Join(",", s.Categories)} = {string.Join(",", s.BaselineCounts)}"));

    private static double FeaturePsi(ModelStatus status) => status.Drift.Single(s => s.Signal == "feature" && s.FeatureName == "x").Psi;
}

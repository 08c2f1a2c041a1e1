
namespace MlMonitoring.Client.Tests;

/// <summary>
/// Labels and outcomes the sidecar refuses as retryable are sent again until they join: a real sidecar whose shared
/// store, a real redis-server, goes away and comes back empty.
/// </summary>
[Trait("Parts", "Real")]
public sealed class ResendTests
{
    [Fact]
    public async Task Labels_and_outcomes_refused_while_the_store_is_down_are_sent_again_and_join_when_it_is_back()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var sidecar = await StartSidecarAsync(redis);
        await using var client = Connect(sidecar);
        client.RecordClassification("resend", "v1", 0.01, "a", 0.9, "warm-up");
        Assert.True(await client.FlushAsync(TimeSpan.FromSeconds(10)));

        await redis.StopAsync();
        for (var i = 0; i < 50; i++)
        {
            client.RecordClassification("resend", "v1", 0.01, "a", 0.9, $"r-{i}");
            client.RecordGroundTruth($"r-{i}", i % 5 == 0 ? "b" : "a");
            client.RecordOutcome("conversion", 1, $"r-{i}");
        }

        // Refused as retryable while the store is away: kept, not settled.
        Assert.False(await client.FlushAsync(TimeSpan.FromSeconds(3)));
        Assert.Equal(0, client.LabelsSent);

        await redis.StartAgainAsync();
        Assert.True(await client.FlushAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal((50L, 0L, 0L), (client.LabelsSent, client.LabelsRejected, client.LabelsGivenUp));
        Assert.Equal((50L, 0L, 0L), (client.OutcomesSent, client.OutcomesRejected, client.OutcomesGivenUp));
        (string, string)[] model = [("model_name", "resend"), ("model_version", "v1")];
        await Eventually.AssertAsync(async () =>
        {
            var metrics = await sidecar.ScrapeAsync();
            Assert.Equal(40, metrics.Value("ml_ground_truth_total", [.. model, ("predicted_class", "a"), ("actual_class", "a")]));
            Assert.Equal(10, metrics.Value("ml_ground_truth_total", [.. model, ("predicted_class", "a"), ("actual_class", "b")]));
            Assert.Equal(50, metrics.Value("ml_business_outcomes_total", [.. model, ("kind", "conversion")]));
            Assert.Empty(metrics.All("ml_ground_truth_unmatched_total"));
        });
    }

    [Fact]
    public async Task A_label_refused_as_retryable_past_RetryMaxAge_is_given_up_and_counted()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var sidecar = await StartSidecarAsync(redis);
        await using var client = Connect(sidecar, retryMaxAge: TimeSpan.FromSeconds(1));
        await redis.StopAsync();

        client.RecordGroundTruth("lost-1", "a");
        client.RecordGroundTruth("lost-2", "b");

        Assert.True(await client.FlushAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal((0L, 0L, 2L, 0L), (client.LabelsSent, client.LabelsRejected, client.LabelsGivenUp, client.Pending));
    }

    /// <summary>A sidecar whose shared store is <paramref name="redis"/>, which the tests take away.</summary>
    private static async Task<SidecarProcess> StartSidecarAsync(RedisServer redis)
    {
        var sidecar = await SidecarProcess.StartAsync(new Dictionary<string, string>
        {
            ["Monitoring__SharedState__Store"] = "redis",
            ["Monitoring__SharedState__RedisConfiguration"] = redis.Configuration,
        });
        sidecar.Logs.Expected.Add("Shared-state store");
        return sidecar;
    }

    private static MonitoringClient Connect(SidecarProcess sidecar, TimeSpan? retryMaxAge = null) => new(new MonitoringClientOptions
    {
        Endpoint = new Uri($"http://127.0.0.1:{sidecar.GrpcPort}"),
        FlushInterval = TimeSpan.FromMilliseconds(50),
        RetryMaxAge = retryMaxAge ?? new MonitoringClientOptions().RetryMaxAge,
    });
}

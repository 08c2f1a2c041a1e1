using MlMonitoring.Client.Tests.Infrastructure;

namespace MlMonitoring.Client.Tests;

/// <summary>
/// FlushAsync through a slow link to the real sidecar: true only once the sidecar has answered for every
/// prediction, label and outcome recorded before it; false while the answers are held.
/// </summary>
[Trait("Parts", "Real")]
public sealed class FlushTests
{
    [Fact]
    public async Task Flush_waits_for_the_answers_to_predictions_labels_and_outcomes()
    {
        await using var sidecar = await SidecarProcess.StartAsync();
        await using var link = new GatedLink(sidecar.GrpcPort);
        await using var client = new MonitoringClient(new MonitoringClientOptions { Endpoint = link.Endpoint, FlushInterval = TimeSpan.FromMilliseconds(50) });
        (string, string)[] model = [("model_name", "late"), ("model_version", "v1")];

        // Connected, and the prediction the label and outcome follow known to the sidecar, before the link slows.
        client.RecordClassification("late", "v1", 0.01, "a", 0.9, "late-1");
        Assert.True(await client.FlushAsync(TimeSpan.FromSeconds(10)));
        link.HoldAnswers();

        client.RecordClassification("late", "v1", 0.02, "b", 0.8);
        client.RecordGroundTruth("late-1", "a");
        // The sidecar has them: only its answers are on the way.
        await WaitForAsync(sidecar, "ml_prediction_requests_total", 2, model);
        await WaitForAsync(sidecar, "ml_ground_truth_total", 1, [.. model, ("predicted_class", "a"), ("actual_class", "a")]);

        Assert.False(await client.FlushAsync(TimeSpan.FromMilliseconds(500)));
        Assert.Equal((1L, 0L, 2L), (client.Sent, client.LabelsSent, client.Pending));
        link.Open();
        Assert.True(await client.FlushAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal((2L, 1L, 0L), (client.Sent, client.LabelsSent, client.Pending));

        // Outcomes: one at a time behind the labels, since a follow-up call waits for the answer to the one before.
        link.HoldAnswers();
        client.RecordOutcome("revenue", 12.5, "late-1");
        await WaitForAsync(sidecar, "ml_business_value_total", 12.5, [.. model, ("kind", "revenue")]);
        Assert.False(await client.FlushAsync(TimeSpan.FromMilliseconds(500)));
        Assert.Equal((0L, 1L), (client.OutcomesSent, client.Pending));
        link.Open();
        Assert.True(await client.FlushAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal((1L, 0L), (client.OutcomesSent, client.Pending));
    }

    [Fact]
    public async Task Labels_and_outcomes_the_sidecar_refuses_are_settled_as_rejected()
    {
        await using var sidecar = await SidecarProcess.StartAsync();
        await using var client = new MonitoringClient(new MonitoringClientOptions { Endpoint = new Uri($"http://127.0.0.1:{sidecar.GrpcPort}") });

        client.RecordGroundTruth("", "a");
        client.RecordOutcome("", 1.0, modelName: "refused");

        Assert.True(await client.FlushAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal((0L, 1L, 0L, 1L, 0L), (client.LabelsSent, client.LabelsRejected, client.OutcomesSent, client.OutcomesRejected, client.Pending));
    }

    private static async Task WaitForAsync(SidecarProcess sidecar, string name, double expected, (string, string)[] labels)
    {
        await Eventually.AssertAsync(async () => Assert.Equal(expected, (await sidecar.ScrapeAsync()).Find(name, labels) ?? 0), pause: TimeSpan.FromMilliseconds(50));
    }
}

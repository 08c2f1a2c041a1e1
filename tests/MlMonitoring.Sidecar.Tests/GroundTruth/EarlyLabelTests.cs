using Grpc.Core;
using MlMonitoring.Sidecar.Tests.Infrastructure;
using MlMonitoring.V1;
using Label = MlMonitoring.V1.GroundTruth;

namespace MlMonitoring.Sidecar.Tests.GroundTruth;

/// <summary>
/// Labels and outcomes that arrive before their prediction: they wait for it, join once it comes (on any replica
/// of a shared store), and are counted as unknown only once their grace is over.
/// </summary>
[Trait("Parts", "Real")]
public sealed class EarlyLabelTests
{
    [Fact]
    public async Task A_label_and_an_outcome_sent_before_their_prediction_join_it_when_it_arrives()
    {
        await using var sidecar = new SidecarFactory();
        var client = sidecar.CreateMonitorClient();

        var labelled = await client.RecordGroundTruthAsync(new GroundTruthBatch { Labels = { new Label { PredictionId = "tx-81", ActualClass = "fraud" } } });
        var attributed = await client.RecordOutcomesAsync(new OutcomeBatch { Outcomes = { new Outcome { PredictionId = "tx-81", Kind = "chargeback", Value = 120 } } });
        Assert.Equal((1UL, 0UL), (labelled.Accepted, labelled.Rejected));
        Assert.Equal((1UL, 0UL), (attributed.Accepted, attributed.Rejected));
        var e = Events.Classified("fraud-detector", "v1", "legit", 0.7);
        e.PredictionId = "tx-81";
        await client.RecordPredictionAsync(e);

        (string, string)[] model = [("model_name", "fraud-detector"), ("model_version", "v1")];
        await Eventually.AssertAsync(async () =>
        {
            var metrics = await sidecar.ScrapeAsync();
            Assert.Equal(1, metrics.Value("ml_ground_truth_total", [.. model, ("predicted_class", "legit"), ("actual_class", "fraud")]));
            Assert.Equal(120, metrics.Value("ml_business_value_total", [.. model, ("kind", "chargeback")]));
            Assert.Equal(0, metrics.Value("ml_ground_truth_early_waiting", ("kind", "label")));
            Assert.Equal(0, metrics.Value("ml_ground_truth_early_waiting", ("kind", "outcome")));
            Assert.Null(metrics.Find("ml_ground_truth_unmatched_total", ("reason", "unknown")));
            Assert.Null(metrics.Find("ml_business_outcomes_unattributed_total"));
        });
    }

    [Fact]
    public async Task Past_MaxEarlyLabels_a_label_not_seen_yet_is_refused_as_retryable_and_joins_when_sent_again()
    {
        await using var sidecar = new SidecarFactory(("Monitoring:GroundTruth:MaxEarlyLabels", "1"));
        var client = sidecar.CreateMonitorClient();

        var response = await client.RecordGroundTruthAsync(new GroundTruthBatch
        {
            Labels =
            {
                new Label { PredictionId = "a", ActualClass = "x" },
                new Label { PredictionId = "b", ActualClass = "y" },
            },
        });

        Assert.Equal((1UL, 1UL), (response.Accepted, response.Rejected));
        var refusal = response.Rejections.Single();
        Assert.Equal(
            (1U, true, "prediction_id: not seen yet, and Monitoring:GroundTruth:MaxEarlyLabels (1) labels already wait for theirs; send the label again"),
            (refusal.Index, refusal.Retryable, refusal.Reason));

        await client.RecordPredictionsAsync(Events.Batch(WithId(Events.Classified("m", "v1", "x", 0.9), "a"), WithId(Events.Classified("m", "v1", "x", 0.9), "b")));
        var again = await client.RecordGroundTruthAsync(new GroundTruthBatch { Labels = { new Label { PredictionId = "b", ActualClass = "y" } } });
        Assert.Equal((1UL, 0UL), (again.Accepted, again.Rejected));
        await Eventually.AssertAsync(async () =>
        {
            var metrics = await sidecar.ScrapeAsync();
            Assert.Equal(1, metrics.Value("ml_ground_truth_total", ("model_name", "m"), ("model_version", "v1"), ("predicted_class", "x"), ("actual_class", "x")));
            Assert.Equal(1, metrics.Value("ml_ground_truth_total", ("model_name", "m"), ("model_version", "v1"), ("predicted_class", "x"), ("actual_class", "y")));
        });
    }

    [Fact]
    public async Task With_no_grace_a_label_not_seen_is_counted_unknown_at_once()
    {
        await using var sidecar = new SidecarFactory(("Monitoring:GroundTruth:EarlyLabelGrace", "00:00:00"));
        var client = sidecar.CreateMonitorClient();

        var response = await client.RecordGroundTruthAsync(new GroundTruthBatch { Labels = { new Label { PredictionId = "never", ActualClass = "x" } } });

        Assert.Equal(1UL, response.Accepted);
        Assert.Equal(1, (await sidecar.ScrapeAsync()).Value("ml_ground_truth_unmatched_total", ("reason", "unknown")));
    }

    /// <summary>
    /// A thousand labels, each sent 0 to 900 ms before its prediction and to another replica than the prediction,
    /// over three sidecar processes sharing a real redis-server: every one joins exactly once; fifty labels whose
    /// prediction never comes end as unknown once their grace is over.
    /// </summary>
    [Fact]
    public async Task Labels_sent_before_their_prediction_to_another_replica_all_join_exactly_once()
    {
        await using var redis = await RedisServer.StartAsync();
        var settings = SidecarProcess.ReplicaSettings(redis.Configuration, ("Monitoring__GroundTruth__EarlyLabelGrace", "00:00:03"));
        await using var a = await SidecarProcess.StartAsync(settings);
        await using var b = await SidecarProcess.StartAsync(settings);
        await using var c = await SidecarProcess.StartAsync(settings);
        SidecarProcess[] replicas = [a, b, c];
        var clients = replicas.Select(r => r.CreateMonitorClient()).ToArray();
        var random = new Random(28);
        var expected = new Dictionary<(string Predicted, string Actual), int>();

        const int Pairs = 1_000;
        var sends = new List<Task>();
        for (var i = 0; i < Pairs; i++)
        {
            var (id, predicted, actual) = ($"p-{i}", random.Next(3) == 0 ? "fraud" : "legit", random.Next(4) == 0 ? "fraud" : "legit");
            expected[(predicted, actual)] = expected.GetValueOrDefault((predicted, actual)) + 1;
            var (startMs, gapMs) = (random.Next(2_000), random.Next(901));
            var (labelTo, predictionTo) = (clients[i % 3], clients[(i + 1) % 3]);
            sends.Add(Task.Run(async () =>
            {
                await Task.Delay(startMs);
                var label = await labelTo.RecordGroundTruthAsync(new GroundTruthBatch { Labels = { new Label { PredictionId = id, ActualClass = actual } } });
                Assert.Equal((1UL, 0UL), (label.Accepted, label.Rejected));
                await Task.Delay(gapMs);
                await predictionTo.RecordPredictionAsync(WithId(Events.Classified("fraud-detector", "v1", predicted, 0.8), id));
            }));
        }

        for (var i = 0; i < 50; i++)
        {
            var label = await clients[i % 3].RecordGroundTruthAsync(new GroundTruthBatch { Labels = { new Label { PredictionId = $"never-{i}", ActualClass = "legit" } } });
            Assert.Equal(1UL, label.Accepted);
        }

        await Task.WhenAll(sends);

        await Eventually.AssertAsync(
            async () =>
            {
                var scrapes = await Task.WhenAll(replicas.Select(r => r.ScrapeAsync()));
                double Sum(string name, params (string, string)[] labels) => scrapes.Sum(m => m.Find(name, labels) ?? 0);
                Assert.Equal(0, Sum("ml_ground_truth_early_waiting", ("kind", "label")));
                foreach (var ((predicted, actual), count) in expected)
                {
                    Assert.Equal(count, Sum("ml_ground_truth_total", ("model_name", "fraud-detector"), ("model_version", "v1"), ("predicted_class", predicted), ("actual_class", actual)));
                }

                Assert.Equal(Pairs, scrapes.Sum(m => m.All("ml_ground_truth_total").Sum(s => s.Value)));
                Assert.Equal(50, Sum("ml_ground_truth_unmatched_total", ("reason", "unknown")));
                Assert.Equal(0, Sum("ml_ground_truth_unmatched_total", ("reason", "duplicate")));
            },
            TimeSpan.FromSeconds(20));
    }

    /// <summary>With the store down a label call answers before the client's deadline, each label refused as retryable.</summary>
    [Fact]
    public async Task With_the_store_down_a_label_call_answers_within_the_store_timeout_refusing_each_label_as_retryable()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var sidecar = await SidecarProcess.StartAsync(SidecarProcess.ReplicaSettings(redis.Configuration));
        sidecar.Logs.Expected.Add("Shared-state store");
        var client = sidecar.CreateMonitorClient();
        await client.RecordPredictionAsync(WithId(Events.Classified("m", "v1", "x", 0.9), "before"));
        await redis.StopAsync();
        await client.RecordPredictionAsync(WithId(Events.Classified("m", "v1", "x", 0.9), "during"));

        var labels = new GroundTruthBatch();
        for (var i = 0; i < 150; i++)
        {
            labels.Labels.Add(new Label { PredictionId = i == 0 ? "before" : $"during-{i}", ActualClass = "x" });
        }

        // The Redis client would wait 5 s for a connection; the store timeout (1 s) answers first.
        var response = await client.RecordGroundTruthAsync(labels, deadline: DateTime.UtcNow.AddSeconds(3));

        Assert.Equal((0UL, 150UL), (response.Accepted, response.Rejected));
        Assert.Equal(Enumerable.Range(0, 150).Select(i => (uint)i), response.Rejections.Select(r => r.Index));
        Assert.All(response.Rejections, r =>
        {
            Assert.True(r.Retryable);
            Assert.StartsWith("prediction_id: shared state ", r.Reason, StringComparison.Ordinal);
            Assert.EndsWith("; send the label again", r.Reason, StringComparison.Ordinal);
        });
    }

    private static PredictionEvent WithId(PredictionEvent e, string id)
    {
        e.PredictionId = id;
        return e;
    }
}

using System.Text.Json.Nodes;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using MlMonitoring.Sidecar.GroundTruth;
using MlMonitoring.Sidecar.SharedState;
using MlMonitoring.Sidecar.Tests.Infrastructure;
using MlMonitoring.V1;
using Label = MlMonitoring.V1.GroundTruth;

namespace MlMonitoring.Sidecar.Tests.GroundTruth;

/// <summary>Predictions then labels through the real gRPC service; figures from /metrics and GetModelStatus.</summary>
[Trait("Parts", "Real")]
public sealed class GroundTruthJoinTests : IDisposable
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 5, 1, 8, 0, 0, TimeSpan.Zero));
    private readonly SidecarFactory _sidecar;

    public GroundTruthJoinTests()
    {
        _sidecar = new SidecarFactory(("Monitoring:GroundTruth:Ttl", "01:00:00"), ("Monitoring:GroundTruth:Window", "1.00:00:00"))
        {
            Clock = _clock,
        };
    }

    public void Dispose() => _sidecar.Dispose();

    [Fact]
    public async Task Accuracy_precision_recall_f1_mae_and_rmse_equal_scikit_learn()
    {
        var client = _sidecar.CreateMonitorClient();
        var random = new Random(11);
        string[] classes = ["cat", "dog", "fox", "owl"];
        var (yTrue, yPred) = (new List<string>(), new List<string>());
        var (vTrue, vPred) = (new List<double>(), new List<double>());
        var predictions = new PredictionBatch();
        var labels = new GroundTruthBatch();
        for (var i = 0; i < 600; i++)
        {
            // A skewed, imperfect classifier; "owl" is predicted but never true, so its recall is undefined (0).
            var actual = classes[Math.Min(2, (int)(random.NextDouble() * random.NextDouble() * 4))];
            var predicted = random.NextDouble() < 0.7 ? actual : classes[random.Next(classes.Length)];
            yTrue.Add(actual);
            yPred.Add(predicted);
            var e = Events.Classified("animals", "v1", predicted, 0.8);
            e.PredictionId = $"a-{i}";
            predictions.Events.Add(e);
            labels.Labels.Add(new Label { PredictionId = $"a-{i}", ActualClass = actual });
        }

        for (var i = 0; i < 300; i++)
        {
            var actual = Math.Round(100 + (random.NextDouble() * 50), 3);
            var predicted = Math.Round(actual + ((random.NextDouble() - 0.4) * 20), 3);
            vTrue.Add(actual);
            vPred.Add(predicted);
            var e = Events.Regressed("price", "v2", predicted);
            e.PredictionId = $"p-{i}";
            predictions.Events.Add(e);
            labels.Labels.Add(new Label { PredictionId = $"p-{i}", ActualValue = actual });
        }

        Assert.Equal(900UL, (await client.RecordPredictionsAsync(predictions)).Accepted);
        _clock.Advance(TimeSpan.FromMinutes(10));
        var response = await client.RecordGroundTruthAsync(labels);
        Assert.Equal((900UL, 0UL), (response.Accepted, response.Rejected));

        var reference = await PythonReference.RunAsync("quality_reference.py", new
        {
            classification = new { y_true = yTrue, y_pred = yPred },
            regression = new { y_true = vTrue, y_pred = vPred },
        });
        var expected = reference["classification"]!;
        var metrics = await _sidecar.ScrapeAsync();
        (string, string)[] animals = [("model_name", "animals"), ("model_version", "v1")];
        (string, string)[] price = [("model_name", "price"), ("model_version", "v2")];
        Assert.Equal(Number(expected["accuracy"]), metrics.Value("ml_model_accuracy", animals), 1e-9);
        Assert.Equal(Number(expected["precision_macro"]), metrics.Value("ml_model_precision_macro", animals), 1e-9);
        Assert.Equal(Number(expected["recall_macro"]), metrics.Value("ml_model_recall_macro", animals), 1e-9);
        Assert.Equal(Number(expected["f1_macro"]), metrics.Value("ml_model_f1_macro", animals), 1e-9);
        Assert.Equal(600, metrics.Value("ml_ground_truth_sample_size", animals));
        foreach (var (name, figures) in expected["classes"]!.AsObject())
        {
            Assert.Equal(Number(figures!["precision"]), metrics.Value("ml_model_precision", [.. animals, ("class", name)]), 1e-9);
            Assert.Equal(Number(figures["recall"]), metrics.Value("ml_model_recall", [.. animals, ("class", name)]), 1e-9);
            Assert.Equal(Number(figures["f1"]), metrics.Value("ml_model_f1", [.. animals, ("class", name)]), 1e-9);
        }

        Assert.Equal(Number(reference["regression"]!["mae"]), metrics.Value("ml_model_mae", price), 1e-9);
        Assert.Equal(Number(reference["regression"]!["rmse"]), metrics.Value("ml_model_rmse", price), 1e-9);
        Assert.Equal(300, metrics.Value("ml_ground_truth_sample_size", price));

        // The confusion matrix as counters, from which PromQL can compute the same over any range.
        for (var p = 0; p < classes.Length; p++)
        {
            for (var a = 0; a < classes.Length; a++)
            {
                var count = Enumerable.Range(0, yTrue.Count).Count(i => yPred[i] == classes[p] && yTrue[i] == classes[a]);
                var labelsOfCell = (IEnumerable<(string, string)>)[.. animals, ("predicted_class", classes[p]), ("actual_class", classes[a])];
                Assert.Equal(count == 0 ? null : count, metrics.Find("ml_ground_truth_total", [.. labelsOfCell]));
            }
        }

        // All labels came ten minutes after their predictions.
        Assert.Equal(600, metrics.Value("ml_ground_truth_delay_seconds_bucket", [.. animals, ("le", "900")]));
        Assert.Equal(0, metrics.Value("ml_ground_truth_delay_seconds_bucket", [.. animals, ("le", "300")]));

        var status = await client.GetModelStatusAsync(new ModelStatusRequest { ModelName = "animals" });
        Assert.Equal(FigureScope.Process, status.Scope);  // one process: its figures are the model version's
        Assert.Equal(("animals", "v1", 600UL), (status.ModelName, status.ModelVersion, status.SampleSize));
        Assert.Equal(Number(expected["accuracy"]), status.Accuracy, 1e-9);
        Assert.Equal(Number(expected["f1_macro"]), status.F1Macro, 1e-9);
        Assert.Equal(expected["classes"]!.AsObject().Select(c => c.Key), status.Classes.Select(c => c.ClassName));
        foreach (var score in status.Classes)
        {
            var figures = expected["classes"]![score.ClassName]!;
            Assert.Equal(Number(figures["precision"]), score.Precision, 1e-9);
            Assert.Equal(Number(figures["recall"]), score.Recall, 1e-9);
            Assert.Equal(Number(figures["f1"]), score.F1, 1e-9);
            Assert.Equal((ulong)figures["support"]!.GetValue<int>(), score.Support);
        }

        var regression = await client.GetModelStatusAsync(new ModelStatusRequest { ModelName = "price", ModelVersion = "v2" });
        Assert.Equal(Number(reference["regression"]!["mae"]), regression.Mae, 1e-9);
        Assert.Equal(Number(reference["regression"]!["rmse"]), regression.Rmse, 1e-9);
        Assert.Equal(300UL, regression.RegressionSampleSize);
        Assert.False(regression.HasAccuracy);
        Assert.Equal(TimeSpan.FromDays(1), regression.QualityWindow.ToTimeSpan());
    }

    [Fact]
    public async Task Unknown_and_duplicate_labels_are_counted_not_rejected_an_unknown_one_once_its_grace_is_over()
    {
        var client = _sidecar.CreateMonitorClient();
        var e = Events.Classified("fraud", "v1", "fraud", 0.9);
        e.PredictionId = "tx-1";
        await client.RecordPredictionAsync(e);

        var response = await client.RecordGroundTruthAsync(new GroundTruthBatch
        {
            Labels =
            {
                new Label { PredictionId = "tx-1", ActualClass = "legit" },
                new Label { PredictionId = "tx-1", ActualClass = "legit" },
                new Label { PredictionId = "tx-unknown", ActualClass = "fraud" },
            },
        });

        Assert.Equal((3UL, 0UL), (response.Accepted, response.Rejected));
        var metrics = await _sidecar.ScrapeAsync();
        Assert.Equal(1, metrics.Value("ml_ground_truth_total", ("model_name", "fraud"), ("model_version", "v1"), ("predicted_class", "fraud"), ("actual_class", "legit")));
        Assert.Equal(1, metrics.Value("ml_ground_truth_unmatched_total", ("reason", "duplicate")));
        // The unknown one waits for a prediction that may still come, then counts as unknown.
        Assert.Equal(1, metrics.Value("ml_ground_truth_early_waiting", ("kind", "label")));
        Assert.Null(metrics.Find("ml_ground_truth_unmatched_total", ("reason", "unknown")));
        _clock.Advance(TimeSpan.FromSeconds(11));
        await Eventually.AssertAsync(async () =>
        {
            _clock.Advance(TimeSpan.FromMilliseconds(50));
            metrics = await _sidecar.ScrapeAsync();
            Assert.Equal(1, metrics.Value("ml_ground_truth_unmatched_total", ("reason", "unknown")));
        });
        Assert.Equal(0, metrics.Value("ml_ground_truth_early_waiting", ("kind", "label")));
        Assert.Equal(0, metrics.Value("ml_model_accuracy", ("model_name", "fraud"), ("model_version", "v1")));
        Assert.Equal(1, metrics.Value("ml_ground_truth_sample_size", ("model_name", "fraud"), ("model_version", "v1")));
    }

    [Fact]
    public async Task A_label_of_the_wrong_kind_is_rejected_and_leaves_the_prediction_pending()
    {
        var client = _sidecar.CreateMonitorClient();
        var e = Events.Regressed("eta", "v1", 12.5);
        e.PredictionId = "trip-9";
        await client.RecordPredictionAsync(e);

        var response = await client.RecordGroundTruthAsync(new GroundTruthBatch
        {
            Labels =
            {
                new Label { PredictionId = "trip-9", ActualClass = "late" },
                new Label { PredictionId = "trip-9", ActualValue = 14 },
            },
        });

        Assert.Equal((1UL, 1UL), (response.Accepted, response.Rejected));
        Assert.Equal((0U, "actual_class: the prediction is a regression; send actual_value"), (response.Rejections[0].Index, response.Rejections[0].Reason));
        var metrics = await _sidecar.ScrapeAsync();
        Assert.Equal(1.5, metrics.Value("ml_model_mae", ("model_name", "eta"), ("model_version", "v1")));
    }

    [Fact]
    public async Task A_label_without_prediction_id_is_invalid_argument()
    {
        var client = _sidecar.CreateMonitorClient();

        var error = await Assert.ThrowsAsync<RpcException>(async () => await client.RecordGroundTruthAsync(
            new GroundTruthBatch { Labels = { new Label { ActualClass = "fraud" } } }));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("prediction_id: required", error.Status.Detail);
    }

    [Fact]
    public async Task A_label_after_the_ttl_counts_as_expired_and_the_sweep_counts_the_eviction()
    {
        var client = _sidecar.CreateMonitorClient();
        for (var i = 0; i < 3; i++)
        {
            var e = Events.Classified("fraud", "v1", "legit", 0.9);
            e.PredictionId = $"old-{i}";
            await client.RecordPredictionAsync(e);
        }

        _clock.Advance(TimeSpan.FromMinutes(61));
        await _sidecar.Services.GetRequiredService<PendingPredictionSweeper>().SweepAsync(CancellationToken.None);
        await client.RecordGroundTruthAsync(new GroundTruthBatch { Labels = { new Label { PredictionId = "old-0", ActualClass = "legit" } } });

        var metrics = await _sidecar.ScrapeAsync();
        Assert.Equal(1, metrics.Value("ml_ground_truth_unmatched_total", ("reason", "expired")));
        Assert.Equal(3, metrics.Value("ml_ground_truth_evicted_total", ("reason", "ttl")));
        Assert.Equal(0, metrics.Value("ml_ground_truth_pending"));
        Assert.Null(metrics.Find("ml_model_accuracy", ("model_name", "fraud"), ("model_version", "v1")));
    }

    [Fact]
    public async Task Outcomes_are_attributed_to_the_model_version_of_their_prediction()
    {
        var client = _sidecar.CreateMonitorClient();
        var e = Events.Classified("recommender", "v7", "item-42", 0.6);
        e.PredictionId = "rec-1";
        await client.RecordPredictionAsync(e);

        var response = await client.RecordOutcomesAsync(new OutcomeBatch
        {
            Outcomes =
            {
                new Outcome { PredictionId = "rec-1", Kind = "conversion", Value = 1 },
                new Outcome { PredictionId = "rec-1", Kind = "revenue", Value = 19.99 },
                new Outcome { PredictionId = "rec-unknown", ModelName = "recommender", Kind = "revenue", Value = 5 },
                new Outcome { PredictionId = "rec-unknown", Kind = "revenue", Value = 5 },
                new Outcome { PredictionId = "rec-1", Kind = "", Value = 5 },
            },
        });

        Assert.Equal((4UL, 1UL), (response.Accepted, response.Rejected));
        Assert.Equal("kind: required", response.Rejections.Single().Reason);
        var metrics = await _sidecar.ScrapeAsync();
        // The two of an unknown prediction wait for it for their grace, then fall back to the model they name.
        Assert.Equal(2, metrics.Value("ml_ground_truth_early_waiting", ("kind", "outcome")));
        _clock.Advance(TimeSpan.FromSeconds(11));
        await Eventually.AssertAsync(async () =>
        {
            _clock.Advance(TimeSpan.FromMilliseconds(50));
            metrics = await _sidecar.ScrapeAsync();
            Assert.Equal(0, metrics.Value("ml_ground_truth_early_waiting", ("kind", "outcome")));
        });
        Assert.Equal(1, metrics.Value("ml_business_outcomes_total", ("model_name", "recommender"), ("model_version", "v7"), ("kind", "conversion")));
        Assert.Equal(19.99, metrics.Value("ml_business_value_total", ("model_name", "recommender"), ("model_version", "v7"), ("kind", "revenue")));
        Assert.Equal(5, metrics.Value("ml_business_value_total", ("model_name", "recommender"), ("model_version", "unknown"), ("kind", "revenue")));
        Assert.Equal(1, metrics.Value("ml_business_outcomes_unattributed_total"));
    }

    [Fact]
    public async Task Model_status_reports_traffic_and_asks_for_a_version_when_there_are_several()
    {
        var client = _sidecar.CreateMonitorClient();
        await client.RecordPredictionsAsync(Events.Batch(
            Events.Classified("churn", "v1", "stay", 0.9, latency: 0.03),
            Events.Classified("churn", "v1", "stay", 0.9, latency: 0.03),
            Events.Failed("churn", "v1", "ValueError", latency: 0.3),
            Events.Classified("churn", "v2", "stay", 0.9)));

        var error = await Assert.ThrowsAsync<RpcException>(async () => await client.GetModelStatusAsync(new ModelStatusRequest { ModelName = "churn" }));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("v1, v2", error.Status.Detail, StringComparison.Ordinal);
        var missing = await Assert.ThrowsAsync<RpcException>(async () => await client.GetModelStatusAsync(new ModelStatusRequest { ModelName = "nope" }));
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);

        var status = await client.GetModelStatusAsync(new ModelStatusRequest { ModelName = "churn", ModelVersion = "v1" });

        Assert.Equal(3 / 300.0, status.RequestRate, 1e-12); // default 5-minute window
        Assert.Equal(1 / 3.0, status.ErrorRate, 1e-12);
        // Buckets as Prometheus would read them: two in (0.025, 0.05], one in (0.25, 0.5].
        Assert.Equal(0.025 + (0.025 * 1.5 / 2), status.LatencyP50Seconds, 1e-12);
        Assert.Equal(0.25 + (0.25 * (2.97 - 2)), status.LatencyP99Seconds, 1e-12);
        Assert.Equal(0UL, status.SampleSize);
    }

    [Fact]
    public async Task Labels_for_predictions_older_than_the_window_count_but_leave_the_window()
    {
        var client = _sidecar.CreateMonitorClient();
        var e = Events.Classified("fraud", "v1", "legit", 0.9);
        e.PredictionId = "early";
        e.Time = Timestamp.FromDateTimeOffset(_clock.GetUtcNow() - TimeSpan.FromDays(2));
        await client.RecordPredictionAsync(e);

        await client.RecordGroundTruthAsync(new GroundTruthBatch { Labels = { new Label { PredictionId = "early", ActualClass = "legit" } } });

        var metrics = await _sidecar.ScrapeAsync();
        // Two days old: past the TTL of one hour already.
        Assert.Equal(1, metrics.Value("ml_ground_truth_unmatched_total", ("reason", "expired")));
        Assert.Empty(metrics.All("ml_model_accuracy"));
    }

    private static double Number(JsonNode? node) => node!.GetValue<double>();
}

using Grpc.Core;
using MlMonitoring.Sidecar.Tests.Infrastructure;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Tests.Ingest;

/// <summary>Through the real gRPC service and <c>/metrics</c> of an in-process sidecar.</summary>
public sealed class PredictionIngestServiceTests : IDisposable
{
    private readonly SidecarFactory _sidecar = new();

    public void Dispose() => _sidecar.Dispose();

    [Fact]
    public async Task Unary_events_appear_on_metrics_with_the_seed_names_labels_and_buckets()
    {
        var client = _sidecar.CreateMonitorClient();

        await client.RecordPredictionAsync(Events.Classified("fraud", "v1", "fraud", 0.97, latency: 0.03));
        await client.RecordPredictionAsync(Events.Classified("fraud", "v1", "legit", 0.55, latency: 0.3));
        await client.RecordPredictionAsync(Events.Failed("fraud", "v1", "ValueError", ErrorKind.InvalidInput, latency: 0.004));

        var metrics = await _sidecar.ScrapeAsync();
        (string, string) model = ("model_name", "fraud"), version = ("model_version", "v1");
        Assert.Equal(3, metrics.Value("ml_prediction_requests_total", model, version));
        Assert.Equal(1, metrics.Value("ml_prediction_errors_total", model, version, ("error_type", "ValueError"), ("error_kind", "invalid_input")));
        Assert.Equal(1, metrics.Value("ml_prediction_class_total", model, version, ("predicted_class", "fraud")));
        Assert.Equal(1, metrics.Value("ml_prediction_class_total", model, version, ("predicted_class", "legit")));

        // Latency: every event, errors included, in the seed's buckets.
        double[] latencyCounts = [1, 1, 2, 2, 2, 3, 3, 3, 3];
        string[] latencyBounds = ["0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"];
        Assert.Equal(latencyBounds, metrics.All("ml_prediction_latency_seconds_bucket").Select(s => s.Labels["le"]));
        for (var i = 0; i < latencyBounds.Length; i++)
        {
            Assert.Equal(latencyCounts[i], metrics.Value("ml_prediction_latency_seconds_bucket", model, version, ("le", latencyBounds[i])));
        }

        Assert.Equal(3, metrics.Value("ml_prediction_latency_seconds_count", model, version));
        Assert.Equal(0.334, metrics.Value("ml_prediction_latency_seconds_sum", model, version), 1e-12);

        // Confidence: successful classifications only, in the seed's buckets.
        string[] confidenceBounds = ["0.5", "0.6", "0.7", "0.8", "0.9", "0.95", "0.99", "+Inf"];
        double[] legitCounts = [0, 1, 1, 1, 1, 1, 1, 1];
        double[] fraudCounts = [0, 0, 0, 0, 0, 0, 1, 1];
        for (var i = 0; i < confidenceBounds.Length; i++)
        {
            Assert.Equal(legitCounts[i], metrics.Value("ml_prediction_confidence_bucket", model, version, ("predicted_class", "legit"), ("le", confidenceBounds[i])));
            Assert.Equal(fraudCounts[i], metrics.Value("ml_prediction_confidence_bucket", model, version, ("predicted_class", "fraud"), ("le", confidenceBounds[i])));
        }

        Assert.Equal(3, metrics.Value("ml_sidecar_events_received_total", ("rpc", "unary")));
    }

    [Fact]
    public async Task Batch_with_one_invalid_event_records_the_others()
    {
        var client = _sidecar.CreateMonitorClient();
        var batch = Events.Batch(
            Events.Classified("churn", "v2", "stay", 0.8),
            Events.Classified("churn", "v2", "leave", 0.9, latency: -1),
            Events.Classified("churn", "v2", "stay", 0.7),
            Events.Classified("", "v2", "stay", 0.7));

        var response = await client.RecordPredictionsAsync(batch);

        Assert.Equal(2UL, response.Accepted);
        Assert.Equal(2UL, response.Rejected);
        Assert.Collection(
            response.Rejections,
            r => Assert.Equal((1U, "latency_seconds: must be finite and >= 0, got -1"), (r.Index, r.Reason)),
            r => Assert.Equal((3U, "model_name: required"), (r.Index, r.Reason)));

        var metrics = await _sidecar.ScrapeAsync();
        Assert.Equal(2, metrics.Value("ml_prediction_requests_total", ("model_name", "churn"), ("model_version", "v2")));
        Assert.Equal(2, metrics.Value("ml_prediction_class_total", ("model_name", "churn"), ("model_version", "v2"), ("predicted_class", "stay")));
        Assert.Null(metrics.Find("ml_prediction_class_total", ("model_name", "churn"), ("model_version", "v2"), ("predicted_class", "leave")));
        Assert.Equal(4, metrics.Value("ml_sidecar_events_received_total", ("rpc", "batch")));
        Assert.Equal(1, metrics.Value("ml_sidecar_events_rejected_total", ("reason", "latency_seconds")));
        Assert.Equal(1, metrics.Value("ml_sidecar_events_rejected_total", ("reason", "model_name")));
    }

    [Fact]
    public async Task A_stream_answers_each_batch_in_order_and_records_every_valid_event()
    {
        var client = _sidecar.CreateMonitorClient();
        using var call = client.StreamPredictions();

        var responses = new List<RecordResponse>();
        for (var round = 0; round < 5; round++)
        {
            var events = Enumerable.Range(0, 100).Select(i => Events.Classified("ranker", "v3", $"c{i % 4}", 0.75)).ToArray();
            events[round] = Events.Classified("ranker", "v3", "c0", 2.0); // one bad event per batch, at a different index
            await call.RequestStream.WriteAsync(Events.Batch(events));
            Assert.True(await call.ResponseStream.MoveNext());
            responses.Add(call.ResponseStream.Current);
        }

        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext());

        Assert.All(responses, r => Assert.Equal((99UL, 1UL), (r.Accepted, r.Rejected)));
        Assert.Equal([0U, 1U, 2U, 3U, 4U], responses.Select(r => r.Rejections.Single().Index));
        var metrics = await _sidecar.ScrapeAsync();
        Assert.Equal(495, metrics.Value("ml_prediction_requests_total", ("model_name", "ranker"), ("model_version", "v3")));
        // Class c0 sits at indexes 0, 4, 8 … ; the bad event replaced index `round`, which is a c0 only in round 0 and 4.
        Assert.Equal(123, metrics.Value("ml_prediction_class_total", ("model_name", "ranker"), ("model_version", "v3"), ("predicted_class", "c0")));
        Assert.Equal(500, metrics.Value("ml_sidecar_events_received_total", ("rpc", "stream")));
        Assert.Equal(5, metrics.Value("ml_sidecar_events_rejected_total", ("reason", "classification.confidence")));
    }

    [Fact]
    public async Task An_invalid_unary_event_is_invalid_argument_naming_the_field_and_records_nothing()
    {
        var client = _sidecar.CreateMonitorClient();

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await client.RecordPredictionAsync(Events.Classified("fraud", "v1", "a", double.NaN)));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("classification.confidence: must be within [0, 1], got NaN", error.Status.Detail);
        var metrics = await _sidecar.ScrapeAsync();
        Assert.Null(metrics.Find("ml_prediction_requests_total", ("model_name", "fraud"), ("model_version", "v1")));
    }

    [Fact]
    public async Task Confidence_defaults_to_the_top_class_score_and_the_class_to_its_argmax()
    {
        var client = _sidecar.CreateMonitorClient();
        var e = Events.Classified("iris", "v1", "", null);
        e.Classification.ClassScores.Add(new Dictionary<string, double> { ["setosa"] = 0.1, ["versicolor"] = 0.62, ["virginica"] = 0.28 });

        await client.RecordPredictionAsync(e);

        var metrics = await _sidecar.ScrapeAsync();
        (string, string)[] labels = [("model_name", "iris"), ("model_version", "v1"), ("predicted_class", "versicolor")];
        Assert.Equal(1, metrics.Value("ml_prediction_class_total", labels));
        Assert.Equal(0.62, metrics.Value("ml_prediction_confidence_sum", labels));
        Assert.Equal(0, metrics.Value("ml_prediction_confidence_bucket", [.. labels, ("le", "0.6")]));
        Assert.Equal(1, metrics.Value("ml_prediction_confidence_bucket", [.. labels, ("le", "0.7")]));
    }

    [Fact]
    public async Task A_classification_without_confidence_or_scores_counts_the_class_only()
    {
        var client = _sidecar.CreateMonitorClient();

        await client.RecordPredictionAsync(Events.Classified("spam", "v1", "ham", null));

        var metrics = await _sidecar.ScrapeAsync();
        Assert.Equal(1, metrics.Value("ml_prediction_class_total", ("model_name", "spam"), ("model_version", "v1"), ("predicted_class", "ham")));
        Assert.Empty(metrics.All("ml_prediction_confidence_count"));
    }

    [Fact]
    public async Task Regression_outputs_fill_the_value_histogram()
    {
        var client = _sidecar.CreateMonitorClient();

        await client.RecordPredictionsAsync(Events.Batch(
            Events.Regressed("price", "v1", 0.3), Events.Regressed("price", "v1", 7), Events.Regressed("price", "v1", 2000)));

        var metrics = await _sidecar.ScrapeAsync();
        (string, string) model = ("model_name", "price"), version = ("model_version", "v1");
        Assert.Equal(0, metrics.Value("ml_prediction_value_bucket", model, version, ("le", "0.1")));
        Assert.Equal(1, metrics.Value("ml_prediction_value_bucket", model, version, ("le", "0.5")));
        Assert.Equal(2, metrics.Value("ml_prediction_value_bucket", model, version, ("le", "10")));
        Assert.Equal(2, metrics.Value("ml_prediction_value_bucket", model, version, ("le", "1000")));
        Assert.Equal(3, metrics.Value("ml_prediction_value_bucket", model, version, ("le", "+Inf")));
        Assert.Equal(2007.3, metrics.Value("ml_prediction_value_sum", model, version), 1e-9);
    }

    [Fact]
    public async Task An_event_without_version_is_reported_as_version_unknown()
    {
        var client = _sidecar.CreateMonitorClient();

        await client.RecordPredictionAsync(Events.Classified("legacy", "", "x", 0.9));

        var metrics = await _sidecar.ScrapeAsync();
        Assert.Equal(1, metrics.Value("ml_prediction_requests_total", ("model_name", "legacy"), ("model_version", "unknown")));
    }

    [Fact]
    public async Task An_error_without_type_is_counted_as_unknown()
    {
        var client = _sidecar.CreateMonitorClient();

        await client.RecordPredictionAsync(Events.Failed("m", "v1", "", ErrorKind.Timeout));

        var metrics = await _sidecar.ScrapeAsync();
        Assert.Equal(1, metrics.Value("ml_prediction_errors_total", ("model_name", "m"), ("model_version", "v1"), ("error_type", "unknown"), ("error_kind", "timeout")));
    }
}

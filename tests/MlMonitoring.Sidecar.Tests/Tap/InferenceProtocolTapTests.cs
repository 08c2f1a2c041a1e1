using System.Globalization;
using System.Text.Json.Nodes;
using Google.Protobuf.WellKnownTypes;
using MlMonitoring.Sidecar.Tests.Infrastructure;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Tests.Tap;

/// <summary>
/// A model server that is never changed (the upstream standing in for Triton and a KServe v1 predictor), called by
/// real clients through the tap: Python's http.client for v2 REST and v1, python3-grpcio for v2 gRPC. The client
/// checks every answer is byte for byte the one it gets directly; the sidecar's metrics must then count exactly what
/// the client was answered, and labels sent later must join.
/// </summary>
[Trait("Parts", "Real")]
public sealed class InferenceProtocolTapTests
{
    [Fact]
    public async Task Calls_through_the_tap_are_answered_as_directly_and_become_the_predictions_the_client_was_answered()
    {
        await using var upstream = await UpstreamModelServer.StartAsync();
        var (sidecar, tapHttp, tapGrpc) = await TapProcess.StartAsync(upstream.HttpUrl, upstream.GrpcUrl);
        await using var _ = sidecar;

        var script = Path.Combine(AppContext.BaseDirectory, "Tap", "Clients", "inference_clients.py");
        var (exitCode, output) = await ExternalProcess.RunAsync(
            PythonReference.Interpreter,
            [script, Repository.PathOf(), $"127.0.0.1:{tapHttp}", $"127.0.0.1:{upstream.HttpPort}", $"127.0.0.1:{tapGrpc}", $"127.0.0.1:{upstream.GrpcPort}"],
            separateStderr: true);
        Assert.True(exitCode == 0, $"the clients failed (exit {exitCode}):\n{output}");
        var report = JsonNode.Parse(output)!;
        var seen = report["seen"]!.AsArray().Select(s => (
            Model: (string)s!["model"]!, Version: (string)s["version"]!, Id: (string)s["id"]!, Class: (int)s["class"]!)).ToList();
        var errors = report["errors"]!.AsArray();

        // Every instance answered, plus one event per failed call (broken and picky, over REST and gRPC).
        Assert.Equal(4, errors.Count);
        var metrics = await TapProcess.WaitForTapEventsAsync(sidecar, seen.Count + errors.Count);

        foreach (var group in seen.GroupBy(s => (s.Model, Version: s.Model == "churn" ? "2024-05" : s.Version, s.Class)))
        {
            var names = group.Key.Model == "iris" ? TapProcess.IrisClasses : TapProcess.ChurnClasses;
            Assert.Equal(group.Count(), metrics.Value("ml_prediction_class_total",
                ("model_name", group.Key.Model), ("model_version", group.Key.Version), ("predicted_class", names[group.Key.Class])));
        }

        Assert.Equal(seen.Count(s => s.Model == "iris" && s.Version == "3"),
            metrics.Value("ml_prediction_requests_total", ("model_name", "iris"), ("model_version", "3")));
        Assert.Equal(1, metrics.Value("ml_prediction_errors_total", ("model_name", "broken"), ("model_version", "unknown"), ("error_type", "http_500"), ("error_kind", "server")));
        Assert.Equal(1, metrics.Value("ml_prediction_errors_total", ("model_name", "broken"), ("model_version", "unknown"), ("error_type", "grpc_internal"), ("error_kind", "server")));
        Assert.Equal(1, metrics.Value("ml_prediction_errors_total", ("model_name", "picky"), ("model_version", "unknown"), ("error_type", "http_400"), ("error_kind", "invalid_input")));
        Assert.Equal(1, metrics.Value("ml_prediction_errors_total", ("model_name", "picky"), ("model_version", "unknown"), ("error_type", "grpc_invalid_argument"), ("error_kind", "invalid_input")));

        // Features: the rows of version 3 with a readable request (the two of 1.2 MB, JSON and binary, were
        // forwarded whole and their requests not observed, counted; their answers were).
        double[] sepalLengths = [0.5, 1.5, 2.5, 4.2, 0.2, 1.7, 2.2, 0.1, 1.1];
        Assert.Equal(sepalLengths.Length, metrics.Value("ml_feature_value",
            ("model_name", "iris"), ("model_version", "3"), ("feature_name", "sepal_length"), ("statistic", "count")));
        Assert.Equal(sepalLengths.Average(), metrics.Value("ml_feature_value",
            ("model_name", "iris"), ("model_version", "3"), ("feature_name", "sepal_length"), ("statistic", "mean")), 1e-6);
        Assert.Equal(2, metrics.Value("ml_sidecar_tap_skipped_total", ("reason", "body_too_large")));
        // Everything else was read: the failures' bodies (JSON errors, trailers-only gRPC answers) included.
        Assert.Single(metrics.All("ml_sidecar_tap_skipped_total"));
        // Health, the server's own /metrics and ServerLive were passed through unobserved.
        Assert.Equal(3, metrics.Value("ml_sidecar_tap_calls_total", ("operation", "none")));

        // Labels sent later under the ids the calls carried (header, body id, gRPC id; /i within a batch) join.
        var labels = new GroundTruthBatch();
        foreach (var s in seen.Where(s => s.Model == "iris" && s.Id.Length > 0))
        {
            labels.Labels.Add(new MlMonitoring.V1.GroundTruth { PredictionId = s.Id, ActualClass = TapProcess.IrisClasses[s.Class], Time = Timestamp.FromDateTime(DateTime.UtcNow) });
        }

        var response = await sidecar.CreateMonitorClient().RecordGroundTruthAsync(labels);
        Assert.Equal((ulong)labels.Labels.Count, response.Accepted);
        var joined = await sidecar.ScrapeAsync();
        Assert.Equal(labels.Labels.Count, joined.All("ml_ground_truth_correct_total").Sum(s => s.Value));
        Assert.Null(joined.Find("ml_ground_truth_unmatched_total"));
    }
}

using MlMonitoring.Sidecar.Tests.Infrastructure;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Metrics.V1;

namespace MlMonitoring.Sidecar.Tests.Export;

/// <summary>OTLP export, configured only by the standard OTEL_* variables, decoded by a receiver of our own.</summary>
[Trait("Parts", "Real")]
public sealed class OtlpExportTests
{
    [Theory]
    [InlineData("grpc")]
    [InlineData("http/protobuf")]
    public async Task Metrics_reach_an_otlp_receiver_with_names_attributes_and_bucket_bounds(string protocol)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var port = protocol == "grpc" ? receiver.GrpcPort : receiver.HttpPort;
        await using var sidecar = await SidecarProcess.StartAsync(new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{port}",
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = protocol,
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "300",
            ["OTEL_SERVICE_NAME"] = "fraud-model-sidecar",
            ["OTEL_RESOURCE_ATTRIBUTES"] = "k8s.pod.name=fraud-7d9f,deployment.environment=test",
        });

        await sidecar.CreateMonitorClient().RecordPredictionsAsync(Events.Batch(
            Events.Classified("fraud", "v1", "legit", 0.97, latency: 0.03),
            Events.Classified("fraud", "v1", "legit", 0.92, latency: 0.07),
            Events.Failed("fraud", "v1", "ValueError", latency: 0.3)));

        var (resource, metrics) = await WaitForExportAsync(receiver, "ml_prediction_requests", expectedValue: 3);

        Assert.Equal("fraud-model-sidecar", Attribute(resource.Resource.Attributes, "service.name"));
        Assert.Equal("fraud-7d9f", Attribute(resource.Resource.Attributes, "k8s.pod.name"));
        Assert.Equal("test", Attribute(resource.Resource.Attributes, "deployment.environment"));

        var requests = metrics["ml_prediction_requests"];
        Assert.True(requests.Sum.IsMonotonic);
        Assert.Equal(AggregationTemporality.Cumulative, requests.Sum.AggregationTemporality);
        var requestPoint = Assert.Single(requests.Sum.DataPoints);
        Assert.Equal(3, requestPoint.AsInt);
        Assert.Equal("fraud", Attribute(requestPoint.Attributes, "model_name"));
        Assert.Equal("v1", Attribute(requestPoint.Attributes, "model_version"));

        var latency = metrics["ml_prediction_latency"];
        Assert.Equal("s", latency.Unit);
        var latencyPoint = Assert.Single(latency.Histogram.DataPoints);
        Assert.Equal([0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5], latencyPoint.ExplicitBounds);
        Assert.Equal([0UL, 0UL, 1UL, 1UL, 0UL, 1UL, 0UL, 0UL, 0UL], latencyPoint.BucketCounts);
        Assert.Equal(0.4, latencyPoint.Sum, 1e-12);

        var confidence = metrics["ml_prediction_confidence"];
        var confidencePoint = Assert.Single(confidence.Histogram.DataPoints);
        Assert.Equal([0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99], confidencePoint.ExplicitBounds);
        Assert.Equal("legit", Attribute(confidencePoint.Attributes, "predicted_class"));
        Assert.Equal(2UL, confidencePoint.Count);

        var errors = Assert.Single(metrics["ml_prediction_errors"].Sum.DataPoints);
        Assert.Equal("ValueError", Attribute(errors.Attributes, "error_type"));
        Assert.Equal("server", Attribute(errors.Attributes, "error_kind"));

        // The scrape endpoint keeps working beside OTLP: both exporters see the same counts.
        var scraped = await sidecar.ScrapeAsync();
        Assert.Equal(3, scraped.Value("ml_prediction_requests_total", ("model_name", "fraud"), ("model_version", "v1")));
    }

    [Fact]
    public async Task With_the_prometheus_endpoint_off_metrics_go_over_otlp_alone()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var sidecar = await SidecarProcess.StartAsync(new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{receiver.GrpcPort}",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "300",
            ["Monitoring__PrometheusEndpoint"] = "false",
        });

        await sidecar.CreateMonitorClient().RecordPredictionsAsync(Events.Batch([.. Enumerable.Range(0, 7).Select(_ => Events.Classified("m", "v1", "a", 0.9))]));

        Assert.Equal(7, await receiver.WaitForSumAsync("ml_prediction_requests", 7));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await sidecar.Http.GetAsync(new Uri("/metrics", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task Failed_exports_are_counted_by_cause_warned_once_a_minute_and_recover_when_the_receiver_comes_up()
    {
        var port = FreePort.Next();
        await using var sidecar = await SidecarProcess.StartAsync(new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{port}",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "200",
        });
        sidecar.Logs.Expected.Add("OTLP export to");

        // Nothing listens: the failures show, by cause; /metrics still carries everything, so readiness holds.
        var failing = await Eventually.ReturnsAsync(async () =>
        {
            var metrics = await sidecar.ScrapeAsync();
            Assert.True(metrics.Value("ml_sidecar_export_failed_metric_points_total", ("exporter", "otlp"), ("cause", "connection_refused")) > 0);
            Assert.True(metrics.Value("ml_sidecar_export_failed_metric_points_total", ("exporter", "otlp"), ("cause", "connection_refused")) > 0);
            return metrics;
        });
        Assert.Equal(0, failing.Value("ml_sidecar_export_up", ("exporter", "otlp")));
        await Eventually.AssertAsync(async () => Assert.True(failing.Value("ml_sidecar_export_failed_metric_points_total", ("exporter", "otlp"), ("cause", "connection_refused"))
            < (await sidecar.ScrapeAsync()).Value("ml_sidecar_export_failed_metric_points_total", ("exporter", "otlp"), ("cause", "connection_refused"))));
        Assert.Equal(System.Net.HttpStatusCode.OK, (await sidecar.Http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
        Assert.Single(sidecar.Output.Split('\n'), line => line.Contains($"OTLP export to http://127.0.0.1:{port}/ failing (connection_refused)", StringComparison.Ordinal));

        // A receiver comes up on the port: exports go through again, and the metrics with them.
        await using var receiver = await OtlpReceiver.StartAsync(port);
        await sidecar.CreateMonitorClient().RecordPredictionsAsync(Events.Batch(Events.Classified("m", "v1", "a", 0.9)));
        Assert.Equal(1, await receiver.WaitForSumAsync("ml_prediction_requests", 1));
        await Eventually.AssertAsync(async () => Assert.Equal(1, (await sidecar.ScrapeAsync()).Value("ml_sidecar_export_up", ("exporter", "otlp"))));
        Assert.Single(sidecar.Output.Split('\n'), line => line.Contains("failing (connection_refused)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_otlp_only_sidecar_whose_export_fails_reports_degraded_readiness()
    {
        await using var sidecar = await SidecarProcess.StartAsync(new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{FreePort.Next()}",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "200",
            ["Monitoring__PrometheusEndpoint"] = "false",
        });
        sidecar.Logs.Expected.Add("OTLP export to");

        await Eventually.AssertAsync(async () =>
        {
            var readiness = await sidecar.Http.GetStringAsync(new Uri("/readyz", UriKind.Relative));
            Assert.Contains("export: Degraded", readiness, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task An_otlp_endpoint_that_is_no_url_stops_the_start_naming_it()
    {
        var (exitCode, output) = await ExternalProcess.RunAsync(SidecarProcess.Executable, [], environment: new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "notaurl",
            ["Kestrel__Endpoints__Grpc__Url"] = $"http://127.0.0.1:{FreePort.Next()}",
            ["Kestrel__Endpoints__Http__Url"] = $"http://127.0.0.1:{FreePort.Next()}",
        });

        Assert.Equal(1, exitCode);
        Assert.Equal("error: OTEL_EXPORTER_OTLP_ENDPOINT: 'notaurl' is not a URL like http://otel-collector:4317", output.Trim());
    }

    [Fact]
    public async Task A_sidecar_that_would_export_nothing_refuses_to_start()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => SidecarProcess.StartAsync(new Dictionary<string, string>
        {
            ["Monitoring__PrometheusEndpoint"] = "false",
        }));

        Assert.Contains("Monitoring:PrometheusEndpoint is false and no OTEL_EXPORTER_OTLP_ENDPOINT is set", error.Message, StringComparison.Ordinal);
    }

    private static async Task<(ResourceMetrics Resource, Dictionary<string, Metric> Metrics)> WaitForExportAsync(
        OtlpReceiver receiver, string metricName, long expectedValue)
    {
        return await Eventually.ReturnsAsync(
            () =>
            {
                foreach (var request in receiver.Received.Reverse())
                {
                    foreach (var resource in request.ResourceMetrics)
                    {
                        var metrics = resource.ScopeMetrics.SelectMany(s => s.Metrics).ToDictionary(m => m.Name);
                        // An export can be collected while the batch is being recorded: wait for one that has all of it.
                        if (metrics.TryGetValue(metricName, out var metric) && metric.Sum.DataPoints.Sum(p => p.AsInt) == expectedValue
                            && metrics.ContainsKey("ml_prediction_errors") && metrics.ContainsKey("ml_prediction_confidence")
                            && metrics["ml_prediction_latency"].Histogram.DataPoints.Sum(p => (long)p.Count) == expectedValue)
                        {
                            return Task.FromResult((resource, metrics));
                        }
                    }
                }

                throw new Xunit.Sdk.XunitException($"no OTLP export carried {metricName} = {expectedValue}; {receiver.Received.Count} requests received");
            },
            TimeSpan.FromSeconds(30),
            TimeSpan.FromMilliseconds(100));
    }

    private static string Attribute(IEnumerable<KeyValue> attributes, string key) =>
        attributes.Single(a => a.Key == key).Value.StringValue;
}

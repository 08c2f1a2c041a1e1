using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using MlMonitoring.V1;

namespace MlMonitoring.Client.Tests;

/// <summary>The .NET client against the real sidecar process.</summary>
[Trait("Parts", "Real")]
public sealed class MonitoringClientTests
{
    [Fact]
    public async Task Every_event_of_a_100000_prediction_run_arrives()
    {
        await using var sidecar = await SidecarProcess.StartAsync();
        await using var client = new MonitoringClient(new MonitoringClientOptions { Endpoint = new Uri($"http://127.0.0.1:{sidecar.GrpcPort}") });

        for (var i = 0; i < 100_000; i++)
        {
            client.RecordClassification("bulk", "v1", 0.012, i % 10 == 0 ? "fraud" : "legit", 0.93);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await client.FlushAsync(timeout.Token);

        Assert.Equal((100_000L, 0L, 0L, 0L), (client.Sent, client.Rejected, client.Dropped, client.Pending));
        var metrics = await sidecar.ScrapeAsync();
        Assert.Equal(100_000, metrics.Value("ml_prediction_requests_total", ("model_name", "bulk"), ("model_version", "v1")));
        Assert.Equal(10_000, metrics.Value("ml_prediction_class_total", ("model_name", "bulk"), ("model_version", "v1"), ("predicted_class", "fraud")));
    }

    [Fact]
    public async Task The_monitored_predictor_records_result_confidence_features_and_the_exception_type()
    {
        await using var sidecar = await SidecarProcess.StartAsync();
        var services = new ServiceCollection()
            .AddMlMonitoringClient(o => o.Endpoint = new Uri($"http://127.0.0.1:{sidecar.GrpcPort}"))
            .BuildServiceProvider();
        await using (services)
        {
            var client = services.GetRequiredService<MonitoringClient>();
            var predictor = new MonitoredPredictor(client, "credit", "v4");

            var label = predictor.Predict(() => "approve", r => PredictionResult.Class(r, 0.81), "loan-1", new Dictionary<string, double> { ["income"] = 52_000 });
            var price = await predictor.PredictAsync(() => Task.FromResult(12.5), PredictionResult.Value);
            Assert.Throws<TimeoutException>(() => predictor.Predict<string>(() => throw new TimeoutException(), r => PredictionResult.Class(r)));
            await client.FlushAsync();

            Assert.Equal(("approve", 12.5), (label, price));
            var labels = await client.RecordGroundTruthAsync([new GroundTruth { PredictionId = "loan-1", ActualClass = "approve" }]);
            Assert.Equal(1UL, labels.Accepted);
        }

        var metrics = await sidecar.ScrapeAsync();
        (string, string)[] model = [("model_name", "credit"), ("model_version", "v4")];
        Assert.Equal(3, metrics.Value("ml_prediction_requests_total", model));
        Assert.Equal(0.81, metrics.Value("ml_prediction_confidence_sum", [.. model, ("predicted_class", "approve")]));
        Assert.Equal(12.5, metrics.Value("ml_prediction_value_sum", model));
        Assert.Equal(1, metrics.Value("ml_prediction_errors_total", [.. model, ("error_type", "TimeoutException"), ("error_kind", "server")]));
        Assert.Equal(52_000, metrics.Value("ml_feature_value", [.. model, ("feature_name", "income"), ("statistic", "mean")]));
        Assert.Equal(1, metrics.Value("ml_model_accuracy", model));
    }

    [Fact]
    public async Task Without_a_sidecar_events_are_buffered_then_dropped_and_delivery_resumes_when_it_returns()
    {
        var port = FreePort.Next();
        await using var client = new MonitoringClient(new MonitoringClientOptions
        {
            Endpoint = new Uri($"http://127.0.0.1:{port}"),
            Capacity = 100,
            MaxBackoff = TimeSpan.FromMilliseconds(500),
        });

        for (var i = 0; i < 250; i++)
        {
            client.RecordClassification("offline", "v1", 0.01, "a", 0.9);
        }

        // Nothing listens: the calls returned, the newest 100 wait, the 150 oldest are dropped and counted (once the
        // sender, which may hold a batch it took before the first refusal, has put it back).
        await Eventually.AssertAsync(
            () =>
            {
                Assert.Equal((150L, 100L), (client.Dropped, client.Pending));
                return Task.CompletedTask;
            },
            pause: TimeSpan.FromMilliseconds(50));
        using (var shortWait = new CancellationTokenSource(TimeSpan.FromMilliseconds(500)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.FlushAsync(shortWait.Token));
        }

        Assert.Equal(0, client.Sent);
        await using (var sidecar = await SidecarProcess.StartAsync(grpcPort: port))
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await client.FlushAsync(timeout.Token);
            Assert.Equal(100, client.Sent);
            Assert.Equal(100, (await sidecar.ScrapeAsync()).Value("ml_prediction_requests_total", ("model_name", "offline"), ("model_version", "v1")));
        }

        for (var i = 0; i < 40; i++)
        {
            client.RecordClassification("offline", "v1", 0.01, "a", 0.9);
        }

        await using (var restarted = await SidecarProcess.StartAsync(grpcPort: port))
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await client.FlushAsync(timeout.Token);
            Assert.Equal(40, (await restarted.ScrapeAsync()).Value("ml_prediction_requests_total", ("model_name", "offline"), ("model_version", "v1")));
        }

        Assert.Equal((140L, 150L), (client.Sent, client.Dropped));
    }

    [Fact]
    public async Task Batches_larger_than_the_sidecar_accepts_are_split_and_every_event_arrives()
    {
        await using var sidecar = await SidecarProcess.StartAsync(new Dictionary<string, string> { ["Monitoring__MaxBatchSize"] = "300" });
        await using var client = new MonitoringClient(new MonitoringClientOptions
        {
            Endpoint = new Uri($"http://127.0.0.1:{sidecar.GrpcPort}"),
            MaxBatchSize = 2_000,
        });

        for (var i = 0; i < 10_000; i++)
        {
            client.RecordRegression("split", "v1", 0.01, i);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await client.FlushAsync(timeout.Token);

        // Refused whole (INVALID_ARGUMENT, nothing recorded), then sent again in halves: nothing lost, nothing twice.
        Assert.Equal((10_000L, 0L, 0L), (client.Sent, client.Rejected, client.Dropped));
        var metrics = await sidecar.ScrapeAsync();
        Assert.Equal(10_000, metrics.Value("ml_prediction_requests_total", ("model_name", "split"), ("model_version", "v1")));
        Assert.Equal(Enumerable.Range(0, 10_000).Sum(i => (double)i), metrics.Value("ml_prediction_value_sum", ("model_name", "split"), ("model_version", "v1")));
    }

    [Fact]
    public async Task An_invalid_event_is_counted_as_rejected_not_thrown_at_the_caller()
    {
        await using var sidecar = await SidecarProcess.StartAsync();
        await using var client = new MonitoringClient(new MonitoringClientOptions { Endpoint = new Uri($"http://127.0.0.1:{sidecar.GrpcPort}") });

        client.RecordClassification("", "v1", 0.01, "a", 0.9);
        client.RecordClassification("ok", "v1", -1, "a", 0.9);
        client.RecordClassification("ok", "v1", 0.01, "a", 0.9);
        await client.FlushAsync();

        Assert.Equal((1L, 2L), (client.Sent, client.Rejected));
    }
}

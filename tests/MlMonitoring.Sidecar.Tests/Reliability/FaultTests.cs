using Grpc.Health.V1;
using Microsoft.Data.Sqlite;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Tests.Infrastructure;
using MlMonitoring.V1;
using Label = MlMonitoring.V1.GroundTruth;

namespace MlMonitoring.Sidecar.Tests.Reliability;

/// <summary>Faults injected into the real components the sidecar depends on.</summary>
[Trait("Parts", "Real")]
public sealed class FaultTests
{
    /// <summary>What a store outage is expected to log: the failed write (readiness reports it Degraded, unlogged).</summary>
    private static readonly string[] StoreDownWarnings = ["Shared-state store write failed", "Shared-state store claim failed"];

    [Fact]
    public async Task With_redis_down_predictions_are_counted_the_join_degrades_visibly_and_recovers()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var sidecar = await SidecarProcess.StartAsync(new Dictionary<string, string>
        {
            ["Monitoring__SharedState__Store"] = "redis",
            ["Monitoring__SharedState__RedisConfiguration"] = $"{redis.Configuration},connectTimeout=1000,syncTimeout=1000,asyncTimeout=1000",
        });
        sidecar.Logs.Expected.AddRange(StoreDownWarnings);
        var client = sidecar.CreateMonitorClient();

        await redis.StopAsync();
        Assert.Equal(50UL, (await client.RecordPredictionsAsync(Predictions("down", 50))).Accepted);
        var labels = new GroundTruthBatch { Labels = { Labels("down", 50) } };
        var refused = await client.RecordGroundTruthAsync(labels);

        // Predictions counted; labels refused with a reason, so the feeder sends them again; the state is visible.
        await AssertJoinDegradedAsync(sidecar, refused, labels: 50, predictions: 50);
        var health = await new Health.HealthClient(sidecar.Channel).CheckAsync(new HealthCheckRequest());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);

        // Redis comes back (empty): the queued writes go through, the labels sent again join.
        await redis.RestartAsync();
        var joined = await Eventually.ReturnsAsync(
            async () =>
            {
                var response = await client.RecordGroundTruthAsync(labels);
                Assert.NotEqual(0UL, response.Accepted);
                return response;
            },
            TimeSpan.FromSeconds(30),
            TimeSpan.FromMilliseconds(500));

        Assert.Equal((50UL, 0UL), (joined.Accepted, joined.Rejected));
        // Accepted labels whose predictions were still being written wait for them, then join.
        await Eventually.AssertAsync(async () =>
        {
            var metrics = await sidecar.ScrapeAsync();
            Assert.Equal(50, metrics.Value("ml_ground_truth_sample_size", ("model_name", "fraud"), ("model_version", "v1")));
            Assert.Equal(1, metrics.Value("ml_sidecar_shared_state_up"));
        });
    }

    [Fact]
    public async Task With_the_otlp_backend_refusing_connections_ingestion_and_metrics_are_unaffected()
    {
        await using var sidecar = await SidecarProcess.StartAsync(new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{FreePort.Next()}",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "200",
            ["OTEL_EXPORTER_OTLP_TIMEOUT"] = "500",
        });
        sidecar.Logs.Expected.Add("OTLP export to");
        await SendOverOneSecondAsync(sidecar.CreateMonitorClient());

        Assert.False(sidecar.Process.HasExited);
        Assert.Equal(1000, (await sidecar.ScrapeAsync()).Value("ml_prediction_requests_total", ("model_name", "m"), ("model_version", "v1")));
    }

    [Fact]
    public async Task With_the_otlp_backend_stalling_ingestion_and_metrics_are_unaffected_and_export_resumes_when_it_answers()
    {
        var stalled = new StallingListener();
        var port = stalled.Port;
        await using var sidecar = await SidecarProcess.StartAsync(new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{port}",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "200",
            ["OTEL_EXPORTER_OTLP_TIMEOUT"] = "1000",
        });
        sidecar.Logs.Expected.Add("OTLP export to");
        await SendOverOneSecondAsync(sidecar.CreateMonitorClient());

        // The exporter did reach the hung backend, and neither ingestion nor the scrape waited on it.
        Assert.True(stalled.Accepted > 0);
        Assert.False(sidecar.Process.HasExited);
        Assert.Equal(1000, (await sidecar.ScrapeAsync()).Value("ml_prediction_requests_total", ("model_name", "m"), ("model_version", "v1")));

        // A working backend takes the port over: the next exports carry the whole cumulative count, nothing lost.
        await stalled.DisposeAsync();
        await using var receiver = await OtlpReceiver.StartAsync(port);
        Assert.Equal(1000, await receiver.WaitForSumAsync("ml_prediction_requests", 1000));
    }

    [Fact]
    public async Task With_the_sqlite_file_locked_by_another_process_predictions_are_counted_labels_refused_and_all_join_after()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("mlmon-locked-").FullName, "join.db");
        await using var sidecar = await SidecarProcess.StartAsync(new Dictionary<string, string>
        {
            ["Monitoring__SharedState__Store"] = "sqlite",
            ["Monitoring__SharedState__SqlitePath"] = path,
        });
        sidecar.Logs.Expected.AddRange(StoreDownWarnings);
        var client = sidecar.CreateMonitorClient();
        Assert.Equal(50UL, (await client.RecordPredictionsAsync(Predictions("before", 50))).Accepted);

        // Another process (this test) opens the file once the first predictions are on disk and takes the write lock.
        await using var intruder = new SqliteConnection($"Data Source={path};Pooling=False");
        await intruder.OpenAsync();
        await Eventually.AssertAsync(async () => Assert.True(await CountAsync(intruder, "SELECT COUNT(*) FROM predictions") >= 50), TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100));

        await using (var lockFile = intruder.CreateCommand())
        {
            lockFile.CommandText = "BEGIN EXCLUSIVE";
            await lockFile.ExecuteNonQueryAsync();
        }

        // Predictions keep being counted; labels are refused with a reason rather than lost or called unknown.
        Assert.Equal(50UL, (await client.RecordPredictionsAsync(Predictions("during", 50))).Accepted);
        var labels = new GroundTruthBatch { Labels = { Labels("before", 50), Labels("during", 50) } };
        var refused = await client.RecordGroundTruthAsync(labels);
        var metrics = await AssertJoinDegradedAsync(sidecar, refused, labels: 100, predictions: 100);
        Assert.Empty(metrics.All("ml_ground_truth_unmatched_total"));

        // The lock goes: queued writes land, and every label sent again joins.
        await using (var unlock = intruder.CreateCommand())
        {
            unlock.CommandText = "ROLLBACK";
            await unlock.ExecuteNonQueryAsync();
        }

        var joined = await Eventually.ReturnsAsync(
            async () =>
            {
                var response = await client.RecordGroundTruthAsync(labels);
                Assert.Equal(100UL, response.Accepted);
                return response;
            },
            TimeSpan.FromSeconds(30),
            TimeSpan.FromMilliseconds(500));

        Assert.Equal((100UL, 0UL), (joined.Accepted, joined.Rejected));
        await Eventually.AssertAsync(async () =>
        {
            metrics = await sidecar.ScrapeAsync();
            Assert.Equal(100, metrics.Value("ml_ground_truth_sample_size", ("model_name", "fraud"), ("model_version", "v1")));
            Assert.Equal(1, metrics.Value("ml_sidecar_shared_state_up"));
        });
    }

    /// <summary>
    /// The store is down, as a user would see it: every label refused with a reason (to be sent again), every
    /// prediction counted, <c>ml_sidecar_shared_state_up</c> 0, and readiness still OK with the store Degraded.
    /// </summary>
    private static async Task<MetricsText> AssertJoinDegradedAsync(SidecarProcess sidecar, RecordResponse refused, int labels, int predictions)
    {
        Assert.Equal((0UL, (ulong)labels), (refused.Accepted, refused.Rejected));
        // Answered OK, each label listed as retryable, the reason naming the field whose claim failed.
        Assert.Equal(Enumerable.Range(0, labels).Select(i => (uint)i), refused.Rejections.Select(r => r.Index));
        Assert.All(refused.Rejections, r => Assert.True(r.Retryable && r.Reason.StartsWith("prediction_id: ", StringComparison.Ordinal), r.ToString()));
        var metrics = await sidecar.ScrapeAsync();
        Assert.Equal(predictions, metrics.Value("ml_prediction_requests_total", ("model_name", "fraud"), ("model_version", "v1")));
        Assert.Equal(0, metrics.Value("ml_sidecar_shared_state_up"));
        var readiness = await sidecar.Http.GetAsync(new Uri("/readyz", UriKind.Relative));
        Assert.Equal(System.Net.HttpStatusCode.OK, readiness.StatusCode);
        Assert.Contains("shared-state: Degraded", await readiness.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        return metrics;
    }

    private static PredictionBatch Predictions(string prefix, int count) => Events.Batch([.. Enumerable.Range(0, count).Select(i =>
    {
        var e = Events.Classified("fraud", "v1", "legit", 0.9);
        e.PredictionId = $"{prefix}-{i}";
        return e;
    })]);

    private static IEnumerable<Label> Labels(string prefix, int count) =>
        Enumerable.Range(0, count).Select(i => new Label { PredictionId = $"{prefix}-{i}", ActualClass = "legit" });

    private static async Task<long> CountAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        try
        {
            return (long)(await command.ExecuteScalarAsync())!;
        }
        catch (SqliteException)
        {
            // The table is not created yet.
            return 0;
        }
    }

    /// <summary>1,000 predictions in ten batches over about a second: several export intervals go by meanwhile.</summary>
    private static async Task SendOverOneSecondAsync(PredictionMonitor.PredictionMonitorClient client)
    {
        for (var round = 0; round < 10; round++)
        {
            await client.RecordPredictionsAsync(Events.Batch([.. Enumerable.Range(0, 100).Select(_ => Events.Classified("m", "v1", "a", 0.9))]));
            await Task.Delay(100);
        }
    }
}

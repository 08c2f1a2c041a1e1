using System.Net.Sockets;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Grpc.Core;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Ingest;
using MlMonitoring.Sidecar.Tests.Infrastructure;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Tests.Reliability;

/// <summary>Malformed and adversarial input: a clear answer every time, nothing valid lost, the process alive.</summary>
[Trait("Parts", "Real")]
public sealed class HostileInputTests
{
    private static readonly HashSet<string> KnownFields =
    [
        "model_name", "model_version", "prediction_id", "latency_seconds", "time", "classification.predicted_class",
        "classification.confidence", "classification.class_scores", "regression.predicted_value", "error.error_type",
        "error.kind", "features", "categorical_features",
    ];

    private static readonly PredictionValidator Validator = new(new CardinalityLimits());

    private static Gen<double> Doubles => Gen.OneOf(
        ArbMap.Default.GeneratorFor<double>(),
        Gen.Elements(double.NaN, double.PositiveInfinity, double.NegativeInfinity, -0.0, double.Epsilon, -1e-300, 1e300, 0.5, 1.0, 1.0000001));

    private static Gen<string> Names => Gen.OneOf(
        Gen.Elements("", "m", "fraud-detector", "ünïcødé-模型", new string('x', 128), new string('x', 129), new string('n', 10_000)),
        ArbMap.Default.GeneratorFor<string>().Select(s => s ?? ""));

    private static Gen<PredictionEvent> Events =>
        from name in Names
        from version in Names
        from id in Names
        from latency in Doubles
        from kind in Gen.Choose(0, 3)
        from text in Names
        from number in Doubles
        from errorKind in Gen.Choose(-1, 5)
        from featureName in Names
        from featureValue in Doubles
        from category in Names
        select Build(name, version, id, latency, kind, text, number, errorKind, featureName, featureValue, category);

    [Property(MaxTest = 500)]
    public Property Validation_never_throws_and_always_names_a_known_field() =>
        Prop.ForAll(Events.ToArbitrary(), e =>
        {
            var violation = Validator.Validate(e);
            return violation is null || (KnownFields.Contains(violation.Field) && violation.Reason.StartsWith(violation.Field.Split('.')[0], StringComparison.Ordinal));
        });

    [Property(MaxTest = 50)]
    public Property A_batch_counts_every_event_as_accepted_or_rejected_and_records_exactly_the_accepted() =>
        Prop.ForAll(Gen.ListOf(Events).Select(l => l.Take(40).ToArray()).ToArbitrary(), events =>
        {
            using var sidecar = new SidecarFactory(("Monitoring:Limits:MaxModels", "100000"), ("Monitoring:Limits:MaxVersionsPerModel", "10000"));
            var response = sidecar.CreateMonitorClient().RecordPredictions(Infrastructure.Events.Batch(events));
            var expected = events.Count(e => Validator.Validate(e) is null);
            var recorded = sidecar.ScrapeAsync().GetAwaiter().GetResult().All("ml_prediction_requests_total").Sum(s => s.Value);
            return response.Accepted == (ulong)expected
                && response.Accepted + response.Rejected == (ulong)events.Length
                && recorded == expected;
        });

    [Fact]
    public async Task Junk_on_the_grpc_port_is_refused_and_valid_events_in_between_are_counted_exactly()
    {
        await using var sidecar = await SidecarProcess.StartAsync();
        var client = sidecar.CreateMonitorClient();
        var random = new Random(5);
        byte[][] junk =
        [
            [.. Enumerable.Range(0, 4096).Select(_ => (byte)random.Next(256))],
            [.. "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8, .. Enumerable.Range(0, 2048).Select(_ => (byte)random.Next(256))],
            [.. "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"u8],
            [.. "POST /mlmonitoring.v1.PredictionMonitor/RecordPrediction HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"u8],
        ];

        var sent = 0;
        foreach (var bytes in junk)
        {
            using (var socket = new TcpClient())
            {
                await socket.ConnectAsync("127.0.0.1", sidecar.GrpcPort);
                var stream = socket.GetStream();
                await stream.WriteAsync(bytes);
                var buffer = new byte[1024];
                using var read = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                try
                {
                    while (await stream.ReadAsync(buffer, read.Token) > 0)
                    {
                        // Whatever the server answers (a GOAWAY, an HTTP/1.1 error), it then closes.
                    }
                }
                catch (Exception e) when (e is IOException or OperationCanceledException)
                {
                }
            }

            await client.RecordPredictionAsync(Infrastructure.Events.Classified("survivor", "v1", "a", 0.9));
            sent++;
        }

        // NaN, infinities and negatives in every numeric field: refused one by one, naming the field.
        var bad = Infrastructure.Events.Batch(
            Infrastructure.Events.Classified("survivor", "v1", "a", double.NaN),
            Infrastructure.Events.Classified("survivor", "v1", "a", 0.9, latency: double.NegativeInfinity),
            Infrastructure.Events.Regressed("survivor", "v1", double.PositiveInfinity),
            Infrastructure.Events.Classified("survivor", "v1", "a", 0.9));
        var response = await client.RecordPredictionsAsync(bad);
        Assert.Equal((1UL, 3UL), (response.Accepted, response.Rejected));
        sent++;

        Assert.False(sidecar.Process.HasExited);
        var metrics = await sidecar.ScrapeAsync();
        Assert.Equal(sent, metrics.Value("ml_prediction_requests_total", ("model_name", "survivor"), ("model_version", "v1")));
    }

    private static PredictionEvent Build(
        string name, string version, string id, double latency, int kind, string text, double number, int errorKind, string featureName, double featureValue, string category)
    {
        var e = new PredictionEvent { ModelName = name, ModelVersion = version, PredictionId = id, LatencySeconds = latency };
        switch (kind)
        {
            case 0:
                e.Classification = new Classification { PredictedClass = text, Confidence = number };
                break;
            case 1:
                e.Regression = new Regression { PredictedValue = number };
                break;
            case 2:
                e.Error = new PredictionError { ErrorType = text, Kind = (ErrorKind)errorKind };
                break;
        }

        e.Features[featureName] = featureValue;
        e.CategoricalFeatures[featureName] = category;
        return e;
    }
}


namespace MlMonitoring.Sidecar.Tests.Tap;

/// <summary>The shipped sidecar started in tap mode in front of an upstream, with the tap's ports of its own.</summary>
[Trait("Parts", "Real")]
public static class TapProcess
{
    /// <summary>
    /// Tap settings for <paramref name="upstream"/> (REST and gRPC), the mappings of its iris and churn models, and
    /// <paramref name="more"/>; returns the sidecar and the tap's HTTP and gRPC ports.
    /// </summary>
    public static async Task<(SidecarProcess Sidecar, int HttpPort, int GrpcPort)> StartAsync(string upstreamHttp, string upstreamGrpc, params (string Key, string Value)[] more)
    {
        var httpPort = FreePort.Next();
        var grpcPort = FreePort.Next();
        var settings = new Dictionary<string, string>
        {
            ["Monitoring__Tap__Listen"] = $"http://127.0.0.1:{httpPort}",
            ["Monitoring__Tap__Upstream"] = upstreamHttp,
            ["Monitoring__Tap__GrpcListen"] = $"http://127.0.0.1:{grpcPort}",
            ["Monitoring__Tap__GrpcUpstream"] = upstreamGrpc,
            ["Monitoring__Tap__Models__iris__ClassOutput"] = "label",
            ["Monitoring__Tap__Models__iris__ProbabilitiesOutput"] = "probabilities",
            ["Monitoring__Tap__Models__iris__FeatureInputs__0"] = "features",
            ["Monitoring__Tap__Models__churn__Version"] = "2024-05",
        };
        Index("Monitoring__Tap__Models__iris__ClassNames", IrisClasses, settings);
        Index("Monitoring__Tap__Models__iris__FeatureNames", IrisFeatures, settings);
        Index("Monitoring__Tap__Models__churn__ClassNames", ChurnClasses, settings);
        Index("Monitoring__Tap__Models__churn__FeatureNames", ["tenure", "complaints"], settings);
        foreach (var (key, value) in more)
        {
            settings[key] = value;
        }

        return (await SidecarProcess.StartAsync(settings), httpPort, grpcPort);
    }

    public static readonly string[] IrisClasses = ["setosa", "versicolor", "virginica"];

    public static readonly string[] IrisFeatures = ["sepal_length", "sepal_width", "petal_length", "petal_width"];

    public static readonly string[] ChurnClasses = ["stay", "leave"];

    /// <summary>Waits until the sidecar has taken <paramref name="events"/> events from the tap (observation runs after each call).</summary>
    public static async Task<MetricsText> WaitForTapEventsAsync(SidecarProcess sidecar, double events)
    {
        return await Eventually.ReturnsAsync(
            async () =>
            {
                var metrics = await sidecar.ScrapeAsync();
                Assert.Equal(events, metrics.Find("ml_sidecar_events_received_total", ("rpc", "tap")) ?? 0);
                return metrics;
            },
            TimeSpan.FromSeconds(20),
            TimeSpan.FromMilliseconds(100));
    }

    private static void Index(string key, string[] values, Dictionary<string, string> settings)
    {
        for (var i = 0; i < values.Length; i++)
        {
            settings[$"{key}__{i}"] = values[i];
        }
    }
}

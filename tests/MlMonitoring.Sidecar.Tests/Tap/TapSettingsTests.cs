
namespace MlMonitoring.Sidecar.Tests.Tap;

/// <summary>Tap settings are validated at start: a mistake stops the sidecar with a message naming the setting.</summary>
[Trait("Parts", "Real")]
public sealed class TapSettingsTests
{
    [Theory]
    [InlineData("Monitoring__Tap__Listen", "http://127.0.0.1:18080", "Monitoring:Tap:Listen and Monitoring:Tap:Upstream are set together")]
    [InlineData("Monitoring__Tap__GrpcUpstream", "http://127.0.0.1:8001", "Monitoring:Tap:GrpcListen and Monitoring:Tap:GrpcUpstream are set together")]
    [InlineData("Monitoring__Tap__Models__m__ValueOutput", "y", "Monitoring:Tap:Models:m: ValueOutput (regression) cannot be set with ClassOutput")]
    public async Task A_tap_setting_that_cannot_work_stops_the_start_naming_it(string key, string value, string reason)
    {
        var settings = new Dictionary<string, string> { [key] = value };
        if (key.Contains("Models", StringComparison.Ordinal))
        {
            settings["Monitoring__Tap__Models__m__ClassOutput"] = "label";
        }

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => SidecarProcess.StartAsync(settings));

        Assert.Contains("the sidecar exited during start", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tap_limits_are_visible_as_self_metrics()
    {
        await using var upstream = await UpstreamModelServer.StartAsync();
        var (sidecar, _, _) = await TapProcess.StartAsync(upstream.HttpUrl, upstream.GrpcUrl,
            ("Monitoring__Tap__MaxObservedBodyBytes", "65536"), ("Monitoring__Tap__ObserverQueueCapacity", "16"));
        await using var __ = sidecar;

        var metrics = await sidecar.ScrapeAsync();
        Assert.Equal(65536, metrics.Value("ml_sidecar_limit", ("limit", "tap_body_bytes")));
        Assert.Equal(16, metrics.Value("ml_sidecar_limit", ("limit", "tap_observer_queue")));
    }
}

using Grpc.Core;
using Grpc.Health.V1;
using MlMonitoring.Sidecar.Tests.Infrastructure;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Tests.Reliability;

[Trait("Parts", "Real")]
public sealed class SecurityTests
{
    private const string Token = "s3cret-token-for-tests-0123456789";

    [Fact]
    public async Task An_ingest_endpoint_beyond_loopback_without_a_token_refuses_to_start()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => SidecarProcess.StartAsync(new Dictionary<string, string>
        {
            ["Kestrel__Endpoints__Grpc__Url"] = $"http://0.0.0.0:{FreePort.Next()}",
        }, bindGrpcToLoopback: false));

        Assert.Contains("Monitoring:Security:TokenFile", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_a_token_calls_without_it_are_unauthenticated_and_the_token_is_never_logged()
    {
        var tokenFile = Path.Combine(Directory.CreateTempSubdirectory("mlmon-token-").FullName, "token");
        await File.WriteAllTextAsync(tokenFile, Token + "\n");
        var port = FreePort.Next();
        await using var sidecar = await SidecarProcess.StartAsync(new Dictionary<string, string>
        {
            ["Kestrel__Endpoints__Grpc__Url"] = $"http://0.0.0.0:{port}",
            ["Monitoring__Security__TokenFile"] = tokenFile,
            ["Monitoring__Security__ProtectMetrics"] = "true",
        }, grpcPort: port, bindGrpcToLoopback: false);
        var client = sidecar.CreateMonitorClient();

        var refused = await Assert.ThrowsAsync<RpcException>(async () => await client.RecordPredictionAsync(Events.Classified("m", "v1", "a", 0.9)));
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        var wrong = await Assert.ThrowsAsync<RpcException>(async () => await client.RecordPredictionAsync(
            Events.Classified("m", "v1", "a", 0.9), new Metadata { { "authorization", "Bearer not-the-token" } }));
        Assert.Equal(StatusCode.Unauthenticated, wrong.StatusCode);

        var accepted = await client.RecordPredictionAsync(Events.Classified("m", "v1", "a", 0.9), new Metadata { { "authorization", $"Bearer {Token}" } });
        Assert.Equal(1UL, accepted.Accepted);

        // Kubelet's gRPC probe sends no token: health stays open.
        var health = await new Health.HealthClient(sidecar.Channel).CheckAsync(new HealthCheckRequest());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);

        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await sidecar.Http.GetAsync(new Uri("/metrics", UriKind.Relative))).StatusCode);
        using var scrape = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        scrape.Headers.Authorization = new("Bearer", Token);
        var metrics = MetricsText.Parse(await (await sidecar.Http.SendAsync(scrape)).Content.ReadAsStringAsync());
        Assert.Equal(1, metrics.Value("ml_prediction_requests_total", ("model_name", "m"), ("model_version", "v1")));
        Assert.DoesNotContain(Token, sidecar.Output, StringComparison.Ordinal);
    }
}

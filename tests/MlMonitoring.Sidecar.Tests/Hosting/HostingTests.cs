using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Tests.Infrastructure;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Tests.Hosting;

[Trait("Parts", "Real")]
public sealed class HostingTests
{
    [Theory]
    [InlineData("Monitoring__MaxBatchSize", "0", "Monitoring:MaxBatchSize: must be between 1 and 1000000")]
    [InlineData("Monitoring__FeatureWindow", "00:00:00", "FeatureWindow")]
    [InlineData("Monitoring__Drift__SyncInterval", "02:00:00", "Monitoring:Drift:SyncInterval: must be between 00:00:00.1000000 and 01:00:00")]
    [InlineData("Monitoring__Limits__MaxClassesPerModel", "-5", "Monitoring:Limits:MaxClassesPerModel: must be between 1 and 100000")]
    [InlineData("Monitoring__RegressionBuckets__1", "0.5", "Monitoring:RegressionBuckets")]
    [InlineData("Monitoring__SharedState__Store", "postgres", "Monitoring:SharedState:Store")]
    [InlineData("Monitoring__SloFile", "/nonexistent-mlmon/slo.yaml", "invalid settings: Monitoring:SloFile: ")]
    public async Task A_bad_setting_stops_the_start_with_a_message_naming_it(string key, string value, string named)
    {
        // Index 0 is set to 1 for the bucket case: the next boundary, 0.5, then goes backwards.
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => SidecarProcess.StartAsync(new Dictionary<string, string>
        {
            [key] = value,
            ["Monitoring__RegressionBuckets__0"] = "1",
        }));

        Assert.Contains("the sidecar exited during start", error.Message, StringComparison.Ordinal);
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("port in use", "the port is already in use by another process")]
    [InlineData("bad setting", "MaxBatchSize")]
    public async Task A_failed_start_exits_with_code_1_and_says_why_instead_of_aborting(string failure, string reason)
    {
        using var occupied = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        occupied.Start();
        var grpcPort = failure == "port in use" ? ((System.Net.IPEndPoint)occupied.LocalEndpoint).Port : FreePort.Next();
        await using var process = ExternalProcess.Start(SidecarProcess.Executable, [], new Dictionary<string, string>
        {
            ["Kestrel__Endpoints__Grpc__Url"] = $"http://127.0.0.1:{grpcPort}",
            ["Kestrel__Endpoints__Http__Url"] = $"http://127.0.0.1:{FreePort.Next()}",
            ["Monitoring__MaxBatchSize"] = failure == "bad setting" ? "0" : "1000",
        }, workingDirectory: SidecarProcess.WorkingDirectory);

        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.True(exitCode == 1, $"exit code {exitCode}:\n{process.Output}");
        Assert.Contains(reason, process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", process.Output, StringComparison.Ordinal);
        var logs = new UnexpectedLogs { Expected = { failure == "port in use" ? "Hosting failed to start" : "The sidecar did not start, invalid settings" } };
        logs.AddFromConsole(process.Output);
        logs.ThrowIfAny();  // nothing else: no background service reported as failed on the way out
    }

    [Fact]
    public async Task A_replicated_sidecar_without_a_shared_store_says_so_at_start()
    {
        await using var sidecar = await SidecarProcess.StartAsync(new Dictionary<string, string> { ["Monitoring__Replicated"] = "true" });
        sidecar.Logs.Expected.Add("Monitoring:Replicated is set but the shared state is 'memory'");

        Assert.Contains("Set Monitoring:SharedState:Store=redis", sidecar.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Grpc_health_liveness_and_readiness_answer_serving()
    {
        await using var sidecar = await SidecarProcess.StartAsync();
        var health = new Health.HealthClient(sidecar.Channel);

        var check = await health.CheckAsync(new HealthCheckRequest());

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, check.Status);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await sidecar.Http.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await sidecar.Http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task Reflection_lists_the_services_and_serves_the_contract_it_was_built_from()
    {
        // Through the native build: descriptors are what trimming would lose if anything found them by reflection.
        await using var sidecar = await SidecarProcess.StartAsync();
        var reflection = new ServerReflection.ServerReflectionClient(sidecar.Channel);
        using var call = reflection.ServerReflectionInfo();

        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { FileContainingSymbol = "mlmonitoring.v1.PredictionMonitor" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext());
        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.True(await call.ResponseStream.MoveNext());
        var file = Google.Protobuf.Reflection.FileDescriptorProto.Parser.ParseFrom(
            call.ResponseStream.Current.FileDescriptorResponse.FileDescriptorProto[0]);
        // To the call's end, so the call is not reset under a server still finishing it.
        Assert.False(await call.ResponseStream.MoveNext());

        Assert.Equal(["grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection", "mlmonitoring.v1.PredictionMonitor"], services.Order());
        Assert.Equal("mlmonitoring/v1/monitoring.proto", file.Name);
        Assert.Equal(
            V1.PredictionMonitor.Descriptor.Methods.Select(m => m.Name),
            file.Service.Single(s => s.Name == "PredictionMonitor").Method.Select(m => m.Name));
    }

    [Fact]
    public async Task A_message_over_the_size_limit_is_resource_exhausted()
    {
        using var sidecar = new SidecarFactory(("Monitoring:MaxMessageBytes", "65536"));
        var client = sidecar.CreateMonitorClient();
        var e = Events.Classified("m", "v1", "a", 0.9);
        e.PredictionId = new string('x', 70_000);

        var error = await Assert.ThrowsAsync<RpcException>(async () => await client.RecordPredictionAsync(e));

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }

    [Fact]
    public async Task A_batch_over_the_event_limit_is_refused_whole_with_invalid_argument()
    {
        using var sidecar = new SidecarFactory(("Monitoring:MaxBatchSize", "3"));
        var client = sidecar.CreateMonitorClient();

        var error = await Assert.ThrowsAsync<RpcException>(async () => await client.RecordPredictionsAsync(Events.Batch(
            [.. Enumerable.Range(0, 4).Select(_ => Events.Classified("m", "v1", "a", 0.9))])));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("Monitoring:MaxBatchSize (3)", error.Status.Detail, StringComparison.Ordinal);
        var metrics = await sidecar.ScrapeAsync();
        Assert.Empty(metrics.All("ml_prediction_requests_total"));
        Assert.Equal(4, metrics.Value("ml_sidecar_events_rejected_total", ("reason", "batch_size")));
    }
}

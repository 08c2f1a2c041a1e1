using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Tests.Infrastructure;

/// <summary>
/// The real sidecar host in process: its gRPC service and <c>/metrics</c> served by the ASP.NET Core test server,
/// with settings overridden per test and, where a test needs it, a clock the test moves.
/// </summary>
public sealed class SidecarFactory : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;

    public SidecarFactory(params (string Key, string? Value)[] settings)
    {
        _settings = settings.ToDictionary(s => s.Key, s => s.Value);
    }

    /// <summary>Warnings and errors the sidecar logged; any not expected fails the test when the sidecar is disposed.</summary>
    public UnexpectedLogs Logs { get; } = new();

    /// <summary>When set, the sidecar's clock; otherwise the system clock.</summary>
    public FakeTimeProvider? Clock { get; init; }

    /// <summary>A client of the sidecar's PredictionMonitor service over the in-process transport.</summary>
    public PredictionMonitor.PredictionMonitorClient CreateMonitorClient() => new(CreateChannel());

    public GrpcChannel CreateChannel() => GrpcChannel.ForAddress(Server.BaseAddress, new GrpcChannelOptions
    {
        HttpHandler = Server.CreateHandler(),
        MaxSendMessageSize = null,
    });

    /// <summary>Reads <c>/metrics</c> as Prometheus would in the text format.</summary>
    public async Task<MetricsText> ScrapeAsync()
    {
        using var client = CreateClient();
        var text = await client.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        return MetricsText.Parse(text);
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        Logs.ThrowIfAny();
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.ConfigureLogging(logging => logging.AddProvider(new UnexpectedLogs.Provider(Logs)));
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        if (Clock is { } clock)
        {
            builder.ConfigureServices(services => services.Replace(ServiceDescriptor.Singleton<TimeProvider>(clock)));
        }
    }
}

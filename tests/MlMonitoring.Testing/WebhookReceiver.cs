using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace MlMonitoring.Testing;

/// <summary>An HTTP server standing in for the automation behind Alertmanager's webhooks; keeps every payload by path.</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private WebhookReceiver(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    public ConcurrentQueue<(string Path, JsonNode Payload)> Received { get; } = new();

    public static async Task<WebhookReceiver> StartAsync()
    {
        var port = FreePort.Next();
        // An empty content root: the sidecar's appsettings.json beside the tests must not configure this server.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = Directory.CreateTempSubdirectory("mlmon-host-").FullName });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenLocalhost(port));
        var app = builder.Build();
        var receiver = new WebhookReceiver(app, port);
        app.MapPost("/{**path}", async (HttpRequest request) =>
        {
            var payload = await JsonNode.ParseAsync(request.Body);
            receiver.Received.Enqueue((request.Path.Value ?? "", payload!));
            return Results.Ok();
        });
        await app.StartAsync();
        return receiver;
    }

    /// <summary>Waits for a payload on <paramref name="path"/> that satisfies <paramref name="match"/>.</summary>
    public async Task<JsonNode> WaitForAsync(string path, Func<JsonNode, bool> match, TimeSpan timeout, Func<string> diagnostics)
    {
        JsonNode? Matching() => Received.Where(r => r.Path == path && match(r.Payload)).Select(r => r.Payload).FirstOrDefault();
        await Eventually.WaitAsync(
            () => Matching() is not null,
            timeout,
            () => $"a matching webhook on {path}; received: {string.Join("; ", Received.Select(r => r.Path + " " + r.Payload.ToJsonString()))}\n{diagnostics()}",
            TimeSpan.FromMilliseconds(200));
        return Matching()!;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

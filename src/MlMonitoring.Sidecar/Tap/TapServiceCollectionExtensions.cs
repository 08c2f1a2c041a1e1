using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Tap;

/// <summary>Registers the inference-protocol tap: its listeners, the forwarder, the observer and the GenAI instruments.</summary>
internal static class TapServiceCollectionExtensions
{
    /// <summary>
    /// Adds the tap when <c>Monitoring:Tap:Listen</c> or <c>GrpcListen</c> is set: each becomes a Kestrel endpoint of
    /// its own (HTTP/1.1, or HTTP/2 for gRPC), beside the sidecar's gRPC and HTTP endpoints.
    /// </summary>
    public static IServiceCollection AddTap(this IServiceCollection services, ConfigurationManager configuration)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MonitoringOptions>, TapOptionsValidator>());
        var section = configuration.GetSection($"{MonitoringOptions.SectionName}:{nameof(MonitoringOptions.Tap)}");
        var listen = section[nameof(TapOptions.Listen)];
        var grpcListen = section[nameof(TapOptions.GrpcListen)];
        if (listen is null && grpcListen is null)
        {
            return services;
        }

        var endpoints = new Dictionary<string, string?>();
        if (listen is not null)
        {
            endpoints["Kestrel:Endpoints:Tap:Url"] = listen;
            endpoints["Kestrel:Endpoints:Tap:Protocols"] = "Http1";
        }

        if (grpcListen is not null)
        {
            endpoints["Kestrel:Endpoints:TapGrpc:Url"] = grpcListen;
            endpoints["Kestrel:Endpoints:TapGrpc:Protocols"] = "Http2";
        }

        configuration.AddInMemoryCollection(endpoints);
        // A client of the HTTP listener may half-close once its request is sent, as through any proxy.
        if (TapOptionsValidator.PortOf(listen) is var httpPort and > 0)
        {
            services.Configure<KestrelServerOptions>(kestrel => kestrel.ConfigureEndpointDefaults(endpoint =>
            {
                if (endpoint.IPEndPoint?.Port == httpPort)
                {
                    endpoint.Use(HalfClosedClients.Middleware);
                }
            }));
        }

        services.AddHttpForwarder();
        services.TryAddSingleton<TapMetrics>();
        services.TryAddSingleton<TapObserverQueue>();
        services.TryAddSingleton(sp => new CaptureBudget(sp.GetRequiredService<IOptions<MonitoringOptions>>().Value.Tap.MaxCapturedBytes));
        services.TryAddSingleton<TapForwarder>();
        services.TryAddSingleton<GenAiInstruments>();
        services.AddHostedService<TapObserver>();
        return services;
    }

    /// <summary>
    /// Sends every call that reached a tap listener to the forwarder, before routing: on the tap's ports nothing is
    /// the sidecar's own, not even <c>/metrics</c> or the probes (the model server's are forwarded).
    /// </summary>
    public static IApplicationBuilder UseTap(this IApplicationBuilder app)
    {
        var tap = app.ApplicationServices.GetRequiredService<IOptions<MonitoringOptions>>().Value.Tap;
        if (!tap.Enabled)
        {
            return app;
        }

        var forwarder = app.ApplicationServices.GetRequiredService<TapForwarder>();
        var httpPort = TapOptionsValidator.PortOf(tap.Listen);
        var grpcPort = TapOptionsValidator.PortOf(tap.GrpcListen);
        return app.Use((context, next) =>
        {
            var port = context.Connection.LocalPort;
            return port == httpPort ? forwarder.ForwardAsync(context, grpc: false)
                : port == grpcPort ? forwarder.ForwardAsync(context, grpc: true)
                : next(context);
        });
    }
}

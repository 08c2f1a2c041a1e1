using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Slo;

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
        services.AddOptions<TapOptions>()
            .BindConfiguration(TapOptions.SectionName)
            .ValidateWithAllSettings<TapOptions, TapOptionsValidator>(TapOptions.SectionName);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TapOptions>, TapMappingValidator>());
        var section = configuration.GetSection(TapOptions.SectionName);
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
        if (TapMappingValidator.PortOf(listen) is var httpPort and > 0)
        {
            services.Configure<KestrelServerOptions>(kestrel => kestrel.ConfigureEndpointDefaults(endpoint =>
            {
                if (endpoint.IPEndPoint?.Port == httpPort)
                {
                    endpoint.Use(HalfClosedClients.Middleware);
                }
            }));
        }

        services.AddSingleton(sp =>
        {
            var tap = sp.GetRequiredService<IOptions<TapOptions>>().Value;
            return new ConfiguredLimits(("tap_body_bytes", tap.MaxObservedBodyBytes), ("tap_observer_queue", tap.ObserverQueueCapacity), ("tap_captured_bytes", tap.MaxCapturedBytes));
        });
        services.AddHttpForwarder();
        services.TryAddSingleton<TapMetrics>();
        services.TryAddSingleton<TapObserverQueue>();
        services.TryAddSingleton(sp => new CaptureBudget(sp.GetRequiredService<IOptions<TapOptions>>().Value.MaxCapturedBytes));
        services.TryAddSingleton<TapForwarder>();
        // The recommended buckets of the GenAI conventions, with every time-to-first-token target of the SLO file.
        services.TryAddSingleton(sp => new TimeToFirstTokenBoundaries(sp.GetService<SloCatalog>()?.TimeToFirstTokenTargets ?? []));
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
        var tap = app.ApplicationServices.GetRequiredService<IOptions<TapOptions>>().Value;
        if (!tap.Enabled)
        {
            return app;
        }

        var forwarder = app.ApplicationServices.GetRequiredService<TapForwarder>();
        var httpPort = TapMappingValidator.PortOf(tap.Listen);
        var grpcPort = TapMappingValidator.PortOf(tap.GrpcListen);
        return app.Use((context, next) =>
        {
            var port = context.Connection.LocalPort;
            return port == httpPort ? forwarder.ForwardAsync(context, grpc: false)
                : port == grpcPort ? forwarder.ForwardAsync(context, grpc: true)
                : next(context);
        });
    }
}

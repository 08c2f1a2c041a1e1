using Grpc.AspNetCore.Server;
using Grpc.AspNetCore.Server.Model;
using Grpc.Health.V1;
using Grpc.Reflection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Ingest.Wire;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Ingest;

/// <summary>Registers and maps the way in: the gRPC contract, its validation, overload protection, health and reflection.</summary>
internal static class IngestServiceCollectionExtensions
{
    public static IServiceCollection AddIngest(this IServiceCollection services)
    {
        services.AddOptions<IngestOptions>()
            .BindConfiguration(IngestOptions.SectionName)
            .ValidateWithAllSettings<IngestOptions, IngestOptionsValidator>(IngestOptions.SectionName);
        services.AddSingleton(sp =>
        {
            var ingest = sp.GetRequiredService<IOptions<IngestOptions>>().Value;
            return new ConfiguredLimits(("batch_events", ingest.MaxBatchSize), ("message_bytes", ingest.MaxMessageBytes));
        });
        services.TryAddSingleton(sp => new PredictionValidator(sp.GetRequiredService<IOptions<MonitoringOptions>>().Value.Limits));
        services.TryAddSingleton<BatchIngestor>();
        services.TryAddSingleton<OverloadGuard>();
        services.AddGrpc(grpc => grpc.Interceptors.Add<OverloadGuard>());
        services.AddOptions<GrpcServiceOptions>()
            .Configure<IOptions<IngestOptions>>((grpc, ingest) => grpc.MaxReceiveMessageSize = ingest.Value.MaxMessageBytes);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IServiceMethodProvider<PredictionIngestService>, PredictionMonitorMethods>());
        // Reflection names the services the sidecar maps. AddGrpcReflection is not called: it would find them by
        // reflecting over generated base classes, which trimming cannot keep (and the ingest service, bound by hand in
        // PredictionMonitorMethods, has none).
        services.TryAddSingleton(_ => new ReflectionServiceImpl(
            PredictionMonitor.Descriptor, Health.Descriptor, Grpc.Reflection.V1Alpha.ServerReflection.Descriptor));
        // grpc.health.v1 answers from the same checks as /readyz.
        services.AddGrpcHealthChecks();
        return services;
    }

    /// <summary>Maps <c>mlmonitoring.v1.PredictionMonitor</c>, <c>grpc.health.v1</c> and reflection.</summary>
    public static IEndpointRouteBuilder MapIngest(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGrpcService<PredictionIngestService>();
        endpoints.MapGrpcHealthChecksService();
        // Mapped as the service it is, not through MapGrpcReflectionService, which insists on AddGrpcReflection.
        endpoints.MapGrpcService<ReflectionServiceImpl>();
        return endpoints;
    }
}

using Grpc.AspNetCore.Server.Model;
using Grpc.Health.V1;
using Grpc.Reflection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Drift;
using MlMonitoring.Sidecar.Export;
using MlMonitoring.Sidecar.GroundTruth;
using MlMonitoring.Sidecar.Hosting;
using MlMonitoring.Sidecar.Ingest;
using MlMonitoring.Sidecar.Ingest.Wire;
using MlMonitoring.Sidecar.Metrics;
using MlMonitoring.Sidecar.Security;
using MlMonitoring.Sidecar.Slo;
using MlMonitoring.Sidecar.Status;
using MlMonitoring.V1;

// Registration lives where ASP.NET Core users look for it.
#pragma warning disable IDE0130
namespace Microsoft.Extensions.DependencyInjection;
#pragma warning restore IDE0130

/// <summary>Registers the sidecar: options, ingest, metrics, export and health.</summary>
public static class SidecarServiceCollectionExtensions
{
    /// <summary>
    /// Adds the monitoring sidecar, bound to the <c>Monitoring</c> section of <paramref name="configuration"/> and
    /// validated when the host starts.
    /// </summary>
    public static IServiceCollection AddMlMonitoringSidecar(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<MonitoringOptions>()
            .Bind(configuration.GetSection(MonitoringOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MonitoringOptions>, MonitoringOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MonitoringOptions>, BucketBoundariesValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MonitoringOptions>, EndpointExposureValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MonitoringOptions>, ExportConfigurationValidator>());
        // A native sidecar gets little time once the model container is gone: stop within Monitoring:ShutdownTimeout.
        services.AddOptions<HostOptions>().Configure<IOptions<MonitoringOptions>>((host, monitoring) => host.ShutdownTimeout = monitoring.Value.ShutdownTimeout);

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SidecarMetrics>();
        services.TryAddSingleton<SloCatalog>();
        services.TryAddSingleton<SloStatusReporter>();
        services.TryAddSingleton<ModelSeriesRegistry>();
        services.TryAddSingleton<PredictionInstruments>();
        services.TryAddSingleton<PredictionRecorder>();
        services.TryAddSingleton(sp => new PredictionValidator(sp.GetRequiredService<IOptions<MonitoringOptions>>().Value.Limits));
        services.TryAddSingleton<BatchIngestor>();

        services.TryAddSingleton<JoinStoreHealth>();
        services.TryAddSingleton<GroundTruthInstruments>();
        services.TryAddSingleton<IJoinStore>(CreateJoinStore);
        services.TryAddSingleton<GroundTruthJoiner>();
        services.TryAddSingleton<JoinStoreMaintenance>();
        services.AddHostedService(sp => sp.GetRequiredService<JoinStoreMaintenance>());
        services.TryAddSingleton<ModelStatusReporter>();
        services.TryAddSingleton<DriftRegistry>();
        services.AddHostedService(sp => sp.GetRequiredService<DriftRegistry>());

        services.TryAddSingleton<OverloadGuard>();
        services.AddGrpc(grpc =>
        {
            grpc.Interceptors.Add<OverloadGuard>();
            // Read the limit at first use, after options validation has run.
            grpc.MaxReceiveMessageSize = configuration.GetValue(
                $"{MonitoringOptions.SectionName}:{nameof(MonitoringOptions.MaxMessageBytes)}", new MonitoringOptions().MaxMessageBytes);
        });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IServiceMethodProvider<PredictionIngestService>, PredictionMonitorMethods>());
        // The ingest service is bound by hand (PredictionMonitorMethods), so reflection cannot find its descriptor
        // through a generated base class; it is named here with the others the sidecar maps.
        services.TryAddSingleton(_ => new ReflectionServiceImpl(
            PredictionMonitor.Descriptor, Health.Descriptor, Grpc.Reflection.V1Alpha.ServerReflection.Descriptor));
        services.AddGrpcReflection();
        services.AddGrpcHealthChecks()
            .AddCheck<ReadinessHealthCheck>("ready", tags: [ReadinessHealthCheck.Tag])
            .AddCheck<JoinStoreHealthCheck>("join-store", tags: [ReadinessHealthCheck.Tag]);

        services.AddHostedService<ShutdownHealthNotifier>();
        services.AddHostedService<StartupReport>();
        services.AddMlMonitoringExport(configuration);
        return services;
    }

    private static IJoinStore CreateJoinStore(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<MonitoringOptions>>().Value.GroundTruth;
        return options.Store switch
        {
            JoinStoreKind.Sqlite => new SqliteJoinStore(options, services.GetRequiredService<ModelSeriesRegistry>(), services.GetRequiredService<JoinStoreHealth>()),
            JoinStoreKind.Redis => new RedisJoinStore(options, services.GetRequiredService<ModelSeriesRegistry>(), services.GetRequiredService<JoinStoreHealth>()),
            _ => new MemoryJoinStore(options),
        };
    }
}

using System.Globalization;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace MlMonitoring.Sidecar.Core;

/// <summary>Registers what every capability shares: the validated options, the per-model-version state and the self-metrics.</summary>
internal static partial class CoreServiceCollectionExtensions
{
    /// <summary>
    /// Binds <see cref="MonitoringOptions"/> to the <c>Monitoring</c> section, validated when the host starts, and
    /// adds the registry of per-model-version state, the self-metrics and the clock.
    /// </summary>
    public static IServiceCollection AddMonitoringCore(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<MonitoringOptions>()
            .Bind(configuration.GetSection(MonitoringOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MonitoringOptions>, MonitoringOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MonitoringOptions>, BucketBoundariesValidator>());
        // A native sidecar gets little time once the model container is gone: stop within Monitoring:ShutdownTimeout.
        // The host reads its options while it is built, before settings are validated at start; reading the
        // validated options here would throw from Build, unlogged. So this one value is bound as is, and an invalid
        // one still fails the start a moment later, logged with every other invalid setting.
        services.AddOptions<HostOptions>().Configure(host =>
        {
            var section = configuration.GetSection(MonitoringOptions.SectionName);
            host.ShutdownTimeout = TimeSpan.TryParse(section[nameof(MonitoringOptions.ShutdownTimeout)], CultureInfo.InvariantCulture, out var timeout)
                && timeout >= TimeSpan.Zero
                ? timeout
                : new MonitoringOptions().ShutdownTimeout;
        });

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SidecarMetrics>();
        // The seed's buckets, unless the SLO capability adds its targets to them.
        services.TryAddSingleton<LatencyBoundaries>();
        services.TryAddSingleton<TimeToFirstTokenBoundaries>();
        services.TryAddSingleton<ModelVersionRegistry>();
        return services;
    }

    /// <summary>Validates the settings now; false, with the reasons logged, when any is invalid.</summary>
    public static bool ValidateMonitoringOptions(this IServiceProvider services)
    {
        try
        {
            _ = services.GetRequiredService<IOptions<MonitoringOptions>>().Value;
            return true;
        }
        catch (OptionsValidationException e)
        {
            var logger = services.GetRequiredService<ILogger<MonitoringOptions>>();
            LogInvalidSettings(logger, e.Message);
            return false;
        }
    }

    [LoggerMessage(EventId = 1, EventName = "InvalidSettings", Level = LogLevel.Critical, Message = "The sidecar did not start, invalid settings: {Reasons}")]
    private static partial void LogInvalidSettings(ILogger logger, string reasons);
}

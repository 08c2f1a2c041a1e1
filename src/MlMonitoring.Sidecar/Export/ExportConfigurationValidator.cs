using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Export;

/// <summary>A sidecar that exports nothing is a mistake in its configuration: refused at start, naming the settings.</summary>
internal sealed class ExportConfigurationValidator(IConfiguration configuration) : IValidateOptions<ExportOptions>
{
    public ValidateOptionsResult Validate(string? name, ExportOptions options) =>
        options.PrometheusEndpoint || ExportServiceCollectionExtensions.IsOtlpEnabled(configuration)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(
                "Monitoring:PrometheusEndpoint is false and no OTEL_EXPORTER_OTLP_ENDPOINT is set: the sidecar would export nothing");
}

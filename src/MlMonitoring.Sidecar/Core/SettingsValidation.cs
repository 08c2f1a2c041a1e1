using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace MlMonitoring.Sidecar.Core;

/// <summary>
/// One capability's options, bound from its part of the <c>Monitoring</c> section and validated, with every other
/// capability's, before the sidecar starts (<see cref="SettingsValidation.ValidateSettings"/>).
/// </summary>
/// <param name="OptionsType">The options class.</param>
/// <param name="Section">The configuration section the options are bound from, for example <c>Monitoring:Drift</c>.</param>
/// <param name="Resolve">Reads the options, which validates them.</param>
internal sealed record ValidatedSettings(Type OptionsType, string Section, Func<IServiceProvider, object> Resolve);

/// <summary>
/// Settings are validated all at once so that a start with several mistakes names each of them, in one line, instead
/// of the first one the host happens to resolve.
/// </summary>
internal static partial class SettingsValidation
{
    /// <summary>
    /// Validates <typeparamref name="TOptions"/> with <typeparamref name="TValidator"/> (its generated
    /// <c>[OptionsValidator]</c>) when the sidecar starts, together with every other capability's settings.
    /// </summary>
    /// <remarks>
    /// The caller binds the section itself (<c>BindConfiguration</c>): the configuration binder's source generator
    /// replaces only calls made with the options type written out, which a generic helper would hide. Not
    /// <c>ValidateOnStart</c> as well: <see cref="ValidateSettings"/> has validated everything before the host starts.
    /// </remarks>
    public static OptionsBuilder<TOptions> ValidateWithAllSettings<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TOptions, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TValidator>(
        this OptionsBuilder<TOptions> builder, string section)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TValidator>());
        builder.Services.AddSingleton(new ValidatedSettings(typeof(TOptions), section, services => services.GetRequiredService<IOptions<TOptions>>().Value));
        return builder;
    }

    /// <summary>Validates every capability's settings now; false, with every reason logged in one line, when any is invalid.</summary>
    public static bool ValidateSettings(this IServiceProvider services)
    {
        var reasons = new List<string>();
        foreach (var settings in services.GetServices<ValidatedSettings>())
        {
            try
            {
                _ = settings.Resolve(services);
            }
            catch (OptionsValidationException e)
            {
                reasons.AddRange(e.Failures.Select(failure => NameTheSetting(settings.Section, failure)));
            }
        }

        if (reasons.Count == 0)
        {
            return true;
        }

        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(SettingsValidation));
        var joined = string.Join("; ", reasons);
        LogInvalidSettings(logger, joined);
        return false;
    }

    /// <summary>
    /// A data-annotation failure names the property by its path in the options class ("MaxBatchSize: The field
    /// IngestOptions.MaxBatchSize must be…"); the user wrote a configuration key, so that is what the line names.
    /// </summary>
    private static string NameTheSetting(string section, string failure)
    {
        var match = DataAnnotationFailure().Match(failure);
        return match.Success
            ? $"{section}:{match.Groups["path"].Value.Replace('.', ':')}: {match.Groups["reason"].Value.TrimEnd('.')}"
            : failure;
    }

    [GeneratedRegex(@"^\w+: The field \w+\.(?<path>[\w.]+) (?<reason>.*)$", RegexOptions.Singleline)]
    private static partial Regex DataAnnotationFailure();

    [LoggerMessage(EventId = 1, EventName = "InvalidSettings", Level = LogLevel.Critical, Message = "The sidecar did not start, invalid settings: {Reasons}")]
    private static partial void LogInvalidSettings(ILogger logger, string reasons);
}

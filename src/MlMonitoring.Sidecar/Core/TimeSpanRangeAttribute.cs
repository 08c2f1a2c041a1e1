using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace MlMonitoring.Sidecar.Core;

/// <summary>
/// A <see cref="TimeSpan"/> setting between two bounds, inclusive. <c>[Range(typeof(TimeSpan), …)]</c> does the same
/// by converting its bounds through reflection (<c>TypeDescriptor</c>), which trimming and native AOT cannot keep;
/// this parses them once, with <see cref="TimeSpan.Parse(string, IFormatProvider)"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class TimeSpanRangeAttribute(string minimum, string maximum) : ValidationAttribute
{
    public TimeSpan Minimum { get; } = TimeSpan.Parse(minimum, CultureInfo.InvariantCulture);

    public TimeSpan Maximum { get; } = TimeSpan.Parse(maximum, CultureInfo.InvariantCulture);

    public override bool IsValid(object? value) =>
        value is not TimeSpan span || (span >= Minimum && span <= Maximum);

    public override string FormatErrorMessage(string name) =>
        string.Create(CultureInfo.InvariantCulture, $"The field {name} must be between {Minimum} and {Maximum}.");
}

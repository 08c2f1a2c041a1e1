using System.Numerics;
using Google.Protobuf.Collections;

namespace MlMonitoring.Sidecar.Core;

/// <summary>Adding a handed-over slot's counts into this replica's slot of the same time.</summary>
internal static class CountArrays
{
    /// <summary>Adds <paramref name="from"/> into <paramref name="into"/> element by element, as far as both reach.</summary>
    public static void AddInto<T>(T[] into, RepeatedField<T> from)
        where T : INumber<T>
    {
        for (var i = 0; i < Math.Min(into.Length, from.Count); i++)
        {
            into[i] += from[i];
        }
    }
}

namespace MlMonitoring.Sidecar.Drift;

/// <summary>Arrays indexed by a feature's ordinal, grown as features appear.</summary>
internal static class ByOrdinal
{
    public static T? At<T>(T?[] byOrdinal, int ordinal)
        where T : class => ordinal < byOrdinal.Length ? byOrdinal[ordinal] : null;

    public static void Grow<T>(ref T?[] byOrdinal, int ordinal)
    {
        if (ordinal >= byOrdinal.Length)
        {
            Array.Resize(ref byOrdinal, Math.Max(ordinal + 1, byOrdinal.Length * 2));
        }
    }
}

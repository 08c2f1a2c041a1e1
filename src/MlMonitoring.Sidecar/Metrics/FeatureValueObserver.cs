using System.Diagnostics.Metrics;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Metrics;

/// <summary>
/// Reads the rolling feature statistics when metrics are collected. A feature with no value inside the window
/// reports nothing, so its gauge disappears instead of freezing at its last value.
/// </summary>
internal static class FeatureValueObserver
{
    public static IEnumerable<Measurement<double>> Observe(ModelVersionRegistry registry, DateTimeOffset now)
    {
        foreach (var model in registry.All)
        {
            foreach (var feature in model.Features)
            {
                var snapshot = feature.Statistics.Read(now);
                if (snapshot.Count == 0)
                {
                    continue;
                }

                var tags = feature.StatisticTags;
                yield return new(snapshot.Mean, tags[0]);
                yield return new(snapshot.StandardDeviation, tags[1]);
                yield return new(snapshot.Min, tags[2]);
                yield return new(snapshot.Max, tags[3]);
                yield return new(snapshot.Count, tags[4]);
                yield return new(snapshot.P50, tags[5]);
                yield return new(snapshot.P95, tags[6]);
                yield return new(snapshot.P99, tags[7]);
            }
        }
    }

    /// <summary>One moment (count, sum or sum of squares) of every feature with values inside the window.</summary>
    public static IEnumerable<Measurement<double>> ObserveMoment(ModelVersionRegistry registry, DateTimeOffset now, Func<WindowMoments, double> moment)
    {
        foreach (var model in registry.All)
        {
            foreach (var feature in model.Features)
            {
                var moments = feature.Statistics.ReadMoments(now);
                if (moments.Count > 0)
                {
                    yield return new(moment(moments), feature.Tags);
                }
            }
        }
    }
}

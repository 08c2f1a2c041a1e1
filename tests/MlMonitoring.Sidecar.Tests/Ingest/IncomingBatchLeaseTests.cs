using System.Reflection;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Ingest.Wire;
using MlMonitoring.Sidecar.Metrics;

namespace MlMonitoring.Sidecar.Tests.Ingest;

public sealed class IncomingBatchLeaseTests
{
    [Fact]
    public void A_batch_is_leased_from_rent_until_disposed_and_a_second_dispose_returns_nothing_twice()
    {
        var batch = IncomingBatchPool.Rent();
        Assert.True(batch.IsLeased);
        batch.Next(10)!.PredictionId = "p-1";
        batch.Dispose();
        Assert.False(batch.IsLeased);
        batch.Dispose();

        // Returned once: two rents cannot both get it back.
        var first = IncomingBatchPool.Rent();
        var second = IncomingBatchPool.Rent();
        Assert.False(ReferenceEquals(first, second));
        Assert.Equal(0, first.TotalCount);
        first.Dispose();
        second.Dispose();
    }

    [Fact]
    public void A_rented_batch_starts_empty_and_its_events_come_reset()
    {
        var batch = IncomingBatchPool.Rent();
        var e = batch.Next(10)!;
        e.PredictionId = "p-1";
        e.Features.Set("x", 1.5);
        batch.Dispose();

        var again = IncomingBatchPool.Rent();
        Assert.Equal(0, again.TotalCount);
        var reused = again.Next(10)!;
        Assert.Equal(string.Empty, reused.PredictionId);
        Assert.Equal(0, reused.Features.Count);
        again.Dispose();
    }

    [Fact]
    public void Only_the_way_in_holds_pooled_events_beyond_the_call_that_read_them()
    {
        // Later stages get the event for the call in hand and copy what they keep: no field outside the ways in
        // (Ingest and its wire reader, which own the lease; the tap, whose observer fills events of its own) may hold
        // a pooled event, a batch or the per-thread features.
        Type[] pooled = [typeof(IncomingPrediction), typeof(IncomingBatch), typeof(EventFeatures), typeof(NamedValues<double>), typeof(NamedValues<string>)];
        var holders = typeof(IncomingBatch).Assembly.GetTypes()
            .Where(t => !(t.Namespace ?? "").StartsWith("MlMonitoring.Sidecar.Ingest", StringComparison.Ordinal)
                && !(t.Namespace ?? "").StartsWith("MlMonitoring.Sidecar.Tap", StringComparison.Ordinal))
            .Where(t => !t.IsByRefLike)  // a ref struct (RecordedPrediction) lives on the stack of the call: the compiler bounds it
            .SelectMany(t => t.GetFields(BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
                .Where(f => Mentions(f.FieldType, pooled))
                .Select(f => $"{t.FullName}.{f.Name}"))
            .Where(f => !IsOwnBuffer(f))
            .ToList();

        Assert.Empty(holders);
    }

    private static bool IsOwnBuffer(string field) =>
        // The types themselves: an event owns its lists, the features buffer its per-thread instance.
        field.StartsWith("MlMonitoring.Sidecar.Core.IncomingPrediction.", StringComparison.Ordinal)
        || field.StartsWith("MlMonitoring.Sidecar.Metrics.EventFeatures.", StringComparison.Ordinal);

    private static bool Mentions(Type type, Type[] pooled) =>
        pooled.Contains(type)
        || (type.IsArray && Mentions(type.GetElementType()!, pooled))
        || (type.IsGenericType && type.GetGenericArguments().Any(a => Mentions(a, pooled)));
}

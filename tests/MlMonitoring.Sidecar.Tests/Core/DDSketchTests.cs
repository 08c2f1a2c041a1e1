using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Tests.Core;

public sealed class DDSketchTests
{
    public static TheoryData<string> Distributions => ["lognormal", "normal-with-negatives", "uniform-integers", "mixture-with-zeros"];

    [Theory]
    [MemberData(nameof(Distributions))]
    public void Quantiles_are_within_the_relative_accuracy_of_the_exact_ones(string distribution)
    {
        var values = Generate(distribution, 50_000, seed: 3);
        var sketch = new DDSketch(0.01);
        foreach (var v in values)
        {
            sketch.Add(v);
        }

        var sorted = values.Order().ToArray();
        foreach (var q in new[] { 0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0 })
        {
            // The exact quantile as numpy's method="lower" takes it.
            var exact = sorted[(int)Math.Floor(q * (sorted.Length - 1))];
            var estimate = sketch.Quantile(q);
            Assert.True(Math.Abs(estimate - exact) <= (0.01 * Math.Abs(exact)) + DDSketch.MinIndexable,
                $"{distribution} q={q}: exact {exact}, sketch {estimate}");
        }
    }

    [Theory]
    [InlineData(3.5)]
    [InlineData(-2.25)]
    [InlineData(1e6)]
    public void A_window_of_one_repeated_value_reports_that_value_at_every_quantile(double value)
    {
        var sketch = new DDSketch(0.01);
        for (var i = 0; i < 10; i++)
        {
            sketch.Add(value);
        }

        Assert.Equal([value, value, value], [sketch.Quantile(0.5), sketch.Quantile(0.95), sketch.Quantile(0.99)]);
    }

    [Theory]
    [MemberData(nameof(Distributions))]
    public void Quantiles_lie_within_the_smallest_and_largest_value_counted_also_after_a_handover(string distribution)
    {
        var values = Generate(distribution, 2_000, seed: 5);
        var sketch = new DDSketch(0.01);
        foreach (var v in values)
        {
            sketch.Add(v);
        }

        var handedOver = new DDSketch(0.01);
        handedOver.Merge(sketch.ToRecord());
        foreach (var q in new[] { 0.0, 0.01, 0.5, 0.99, 1.0 })
        {
            Assert.InRange(sketch.Quantile(q), values.Min(), values.Max());
            Assert.Equal(sketch.Quantile(q), handedOver.Quantile(q));
        }

        Assert.Equal(values.Min(), sketch.Quantile(0));
        Assert.Equal(values.Max(), sketch.Quantile(1));
    }

    [Fact]
    public void A_record_without_bounds_is_bounded_by_its_own_buckets()
    {
        var sketch = new DDSketch(0.01);
        sketch.Add(-2);
        sketch.Add(3.5);
        var record = sketch.ToRecord();
        record.ClearMin();
        record.ClearMax();

        var merged = new DDSketch(0.01);
        merged.Merge(record);

        Assert.Equal(-2, merged.Quantile(0), 2 * 0.01);
        Assert.Equal(3.5, merged.Quantile(1), 3.5 * 0.01);
        Assert.Equal(-2, merged.Min, 2 * 0.01);
        Assert.Equal(3.5, merged.Max, 3.5 * 0.01);
    }

    [Fact]
    public void Merged_sketches_answer_as_one_sketch_of_all_values()
    {
        var values = Generate("lognormal", 20_000, seed: 5);
        var whole = new DDSketch();
        var (left, right) = (new DDSketch(), new DDSketch());
        for (var i = 0; i < values.Length; i++)
        {
            whole.Add(values[i]);
            (i % 3 == 0 ? left : right).Add(values[i]);
        }

        left.Merge(right);

        Assert.Equal(whole.Count, left.Count);
        Assert.Equal(whole.Buckets(), left.Buckets());
        Assert.Equal(whole.Quantile(0.95), left.Quantile(0.95));
    }

    [Fact]
    public void Buckets_are_ordered_and_count_every_value()
    {
        var values = Generate("normal-with-negatives", 5_000, seed: 9);
        var sketch = new DDSketch();
        foreach (var v in values)
        {
            sketch.Add(v);
        }

        var buckets = sketch.Buckets().ToList();
        Assert.Equal(values.Length, buckets.Sum(b => b.Count));
        Assert.True(buckets.Zip(buckets.Skip(1)).All(p => p.First.UpperBound < p.Second.UpperBound));
    }

    internal static double[] Generate(string distribution, int count, int seed)
    {
        var random = new Random(seed);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        return [.. Enumerable.Range(0, count).Select(_ => distribution switch
        {
            "lognormal" => Math.Exp(3 + (1.5 * Normal())),
            "normal-with-negatives" => 2 + (5 * Normal()),
            "uniform-integers" => random.Next(0, 100),
            _ => random.NextDouble() < 0.2 ? 0 : random.NextDouble() < 0.5 ? -Math.Exp(Normal()) : Math.Exp(5 + Normal()),
        })];
    }
}

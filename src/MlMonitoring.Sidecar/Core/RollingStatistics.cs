using MlMonitoring.Internal.V1;


namespace MlMonitoring.Sidecar.Core;

/// <summary>
/// Mean, standard deviation, min, max, count and quantiles of a value over a rolling time window, in memory that
/// does not grow with traffic.
/// </summary>
/// <remarks>
/// The window is cut into <see cref="SlotCount"/> slots; each slot keeps its own count, mean and sum of squared
/// deviations (Welford), merged at read time with Chan's parallel formula, so the variance stays accurate where
/// a running sum of squares would cancel catastrophically. A slot is reused once it falls out of the window, which
/// makes the window's resolution one slot: a read covers between <c>window - window/SlotCount</c> and <c>window</c>.
/// Quantiles come from a <see cref="DDSketch"/> per slot, merged at read time.
/// </remarks>
internal sealed class RollingStatistics
{
    /// <summary>Number of slots the window is divided into.</summary>
    public const int SlotCount = 10;

    private readonly Slot[] _slots = new Slot[SlotCount];
    private readonly long _slotTicks;
    private readonly Lock _gate;

    /// <param name="window">The rolling window.</param>
    /// <param name="gate">
    /// The lock that guards the slots; the features of one model share one, so an event's features are added under
    /// a single acquisition (<see cref="AddLocked"/>). Its own when null.
    /// </param>
    public RollingStatistics(TimeSpan window, Lock? gate = null)
    {
        _gate = gate ?? new Lock();
        _slotTicks = Math.Max(1, window.Ticks / SlotCount);
        for (var i = 0; i < SlotCount; i++)
        {
            _slots[i].Epoch = long.MinValue;
        }
    }

    /// <summary>Adds one finite value observed at <paramref name="now"/>.</summary>
    public void Add(double value, DateTimeOffset now)
    {
        lock (_gate)
        {
            AddLocked(value, now);
        }
    }

    /// <summary>Adds one finite value; the caller holds the lock given to the constructor.</summary>
    public void AddLocked(double value, DateTimeOffset now)
    {
        var epoch = now.UtcTicks / _slotTicks;
        ref var slot = ref _slots[(int)(epoch % SlotCount)];
        if (slot.Epoch != epoch)
        {
            var sketch = slot.Sketch ?? new DDSketch(SketchAccuracy);
            sketch.Clear();
            slot = new Slot { Epoch = epoch, Min = double.PositiveInfinity, Max = double.NegativeInfinity, Sketch = sketch };
        }

        slot.Sketch!.Add(value);

        slot.Count++;
        var delta = value - slot.Mean;
        slot.Mean += delta / slot.Count;
        slot.M2 += delta * (value - slot.Mean);
        if (value < slot.Min)
        {
            slot.Min = value;
        }

        if (value > slot.Max)
        {
            slot.Max = value;
        }
    }

    /// <summary>Relative accuracy of the quantiles.</summary>
    public const double SketchAccuracy = 0.01;

    /// <summary>The statistics of the values inside the window ending at <paramref name="now"/>.</summary>
    public StatisticsSnapshot Read(DateTimeOffset now)
    {
        var current = now.UtcTicks / _slotTicks;
        long count = 0;
        double mean = 0, m2 = 0, min = double.PositiveInfinity, max = double.NegativeInfinity;
        var merged = new DDSketch(SketchAccuracy);
        lock (_gate)
        {
            foreach (ref readonly var slot in _slots.AsSpan())
            {
                if (slot.Count == 0 || slot.Epoch <= current - SlotCount || slot.Epoch > current)
                {
                    continue;
                }

                var total = count + slot.Count;
                var delta = slot.Mean - mean;
                mean += delta * slot.Count / total;
                m2 += slot.M2 + (delta * delta * count * slot.Count / total);
                count = total;
                min = Math.Min(min, slot.Min);
                max = Math.Max(max, slot.Max);
                merged.Merge(slot.Sketch!);
            }
        }

        return count == 0
            ? default
            : new StatisticsSnapshot(count, mean, Math.Sqrt(m2 / count), min, max, merged.Quantile(0.5), merged.Quantile(0.95), merged.Quantile(0.99));
    }

    /// <summary>
    /// Count, sum and sum of squares of the values inside the window: what adds up across replicas into the
    /// fleet's mean and standard deviation. Cheaper than <see cref="Read"/>: no sketch is merged.
    /// </summary>
    public WindowMoments ReadMoments(DateTimeOffset now)
    {
        var current = now.UtcTicks / _slotTicks;
        long count = 0;
        double sum = 0, sumOfSquares = 0;
        lock (_gate)
        {
            foreach (ref readonly var slot in _slots.AsSpan())
            {
                if (slot.Count == 0 || slot.Epoch <= current - SlotCount || slot.Epoch > current)
                {
                    continue;
                }

                count += slot.Count;
                sum += slot.Mean * slot.Count;
                sumOfSquares += slot.M2 + (slot.Mean * slot.Mean * slot.Count);
            }
        }

        return new WindowMoments(count, sum, sumOfSquares);
    }

    /// <summary>The slots inside the window ending at <paramref name="now"/>, to hand over to another replica.</summary>
    public FeatureWindowRecord Export(string featureName, DateTimeOffset now)
    {
        var current = now.UtcTicks / _slotTicks;
        var record = new FeatureWindowRecord { FeatureName = featureName, SlotTicks = _slotTicks };
        lock (_gate)
        {
            foreach (ref readonly var slot in _slots.AsSpan())
            {
                if (slot.Count > 0 && slot.Epoch > current - SlotCount && slot.Epoch <= current)
                {
                    record.Slots.Add(new MomentsSlotRecord
                    {
                        Epoch = slot.Epoch, Count = slot.Count, Mean = slot.Mean, M2 = slot.M2, Min = slot.Min, Max = slot.Max,
                        Sketch = slot.Sketch?.ToRecord(),
                    });
                }
            }
        }

        return record;
    }

    /// <summary>
    /// Adds the slots of another replica's window (<see cref="Export"/>) into the slots of the same time; those
    /// already out of this window are left out. Returns the values added.
    /// </summary>
    public long Merge(FeatureWindowRecord record, DateTimeOffset now)
    {
        if (record.SlotTicks != _slotTicks)
        {
            return 0; // another window length: its slots are not this window's
        }

        var current = now.UtcTicks / _slotTicks;
        long added = 0;
        lock (_gate)
        {
            foreach (var other in record.Slots)
            {
                if (other.Count <= 0 || other.Epoch <= current - SlotCount || other.Epoch > current)
                {
                    continue;
                }

                ref var slot = ref _slots[(int)(other.Epoch % SlotCount)];
                if (slot.Epoch > other.Epoch)
                {
                    continue;
                }

                if (slot.Epoch != other.Epoch)
                {
                    var sketch = slot.Sketch ?? new DDSketch(SketchAccuracy);
                    sketch.Clear();
                    slot = new Slot { Epoch = other.Epoch, Min = double.PositiveInfinity, Max = double.NegativeInfinity, Sketch = sketch };
                }

                // Chan's parallel formula, as at read time.
                var total = slot.Count + other.Count;
                var delta = other.Mean - slot.Mean;
                slot.M2 += other.M2 + (delta * delta * slot.Count * other.Count / total);
                slot.Mean += delta * other.Count / total;
                slot.Count = total;
                slot.Min = Math.Min(slot.Min, other.Min);
                slot.Max = Math.Max(slot.Max, other.Max);
                if (other.Sketch is { } sketchRecord)
                {
                    (slot.Sketch ??= new DDSketch(SketchAccuracy)).Merge(sketchRecord);
                }

                added += other.Count;
            }
        }

        return added;
    }

    private struct Slot
    {
        public long Epoch;
        public long Count;
        public double Mean;
        public double M2;
        public double Min;
        public double Max;
        public DDSketch? Sketch;
    }
}

/// <summary>
/// Statistics of one window. <see cref="StandardDeviation"/> is the population one (numpy's ddof=0); the
/// quantiles are within 1% (relative) of numpy's <c>quantile(method="lower")</c>.
/// </summary>
internal readonly record struct StatisticsSnapshot(
    long Count, double Mean, double StandardDeviation, double Min, double Max, double P50, double P95, double P99);

/// <summary>Count, sum and sum of squares of a window's values.</summary>
internal readonly record struct WindowMoments(long Count, double Sum, double SumOfSquares);

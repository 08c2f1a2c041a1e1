using MlMonitoring.Internal.V1;

namespace MlMonitoring.Sidecar.Core;

/// <summary>
/// A mergeable quantile sketch with a relative-error guarantee (DDSketch, Masson, Rim and Lee, VLDB 2019): any
/// quantile it returns is within <see cref="RelativeAccuracy"/> of the exact value of that rank, in relative terms.
/// </summary>
/// <remarks>
/// A value x &gt; 0 is counted in bucket k = ceil(log_γ x), γ = (1 + α) / (1 − α), which holds (γ^(k−1), γ^k];
/// the bucket answers 2γ^k / (γ + 1), within α of every value in it. Negative values mirror the positive store;
/// values with |x| below <see cref="MinIndexable"/> count as zero. Two sketches of equal α merge by adding counts,
/// so slots of a rolling window merge into one. A quantile is clamped to the smallest and largest value counted: a
/// bucket's representative may lie outside what was seen (a window holding only 3.5 would answer 3.49). Each store keeps at most <see cref="MaxBuckets"/> buckets; past
/// that the lowest are folded together (the guarantee then holds for the upper quantiles only, as in DDSketch).
/// </remarks>
internal sealed class DDSketch
{
    /// <summary>Values closer to zero than this are counted as zero.</summary>
    public const double MinIndexable = 1e-9;

    /// <summary>Most buckets per store (positive, negative).</summary>
    public const int MaxBuckets = 2048;

    private readonly double _gamma;
    private readonly double _logGamma;
    private readonly Store _positive = new();
    private readonly Store _negative = new();

    public DDSketch(double relativeAccuracy = 0.01)
    {
        RelativeAccuracy = relativeAccuracy;
        _gamma = (1 + relativeAccuracy) / (1 - relativeAccuracy);
        _logGamma = Math.Log(_gamma);
    }

    public double RelativeAccuracy { get; }

    public long Count { get; private set; }

    public long ZeroCount { get; private set; }

    /// <summary>The smallest value counted; +∞ when empty.</summary>
    public double Min { get; private set; } = double.PositiveInfinity;

    /// <summary>The largest value counted; −∞ when empty.</summary>
    public double Max { get; private set; } = double.NegativeInfinity;

    public void Add(double value)
    {
        Min = Math.Min(Min, value);
        Max = Math.Max(Max, value);

        if (value > MinIndexable)
        {
            _positive.Add(Index(value));
        }
        else if (value < -MinIndexable)
        {
            _negative.Add(Index(-value));
        }
        else
        {
            ZeroCount++;
        }

        Count++;
    }

    public void Merge(DDSketch other)
    {
        _positive.Merge(other._positive);
        _negative.Merge(other._negative);
        ZeroCount += other.ZeroCount;
        Count += other.Count;
        Min = Math.Min(Min, other.Min);
        Max = Math.Max(Max, other.Max);
    }

    /// <summary>The buckets as a record, to hand over to another process.</summary>
    public SketchRecord ToRecord()
    {
        var record = new SketchRecord { ZeroCount = ZeroCount };
        if (Count > 0)
        {
            (record.Min, record.Max) = (Min, Max);
        }

        foreach (var (index, count) in _positive.Ascending())
        {
            record.PositiveIndexes.Add(index);
            record.PositiveCounts.Add(count);
        }

        foreach (var (index, count) in _negative.Ascending())
        {
            record.NegativeIndexes.Add(index);
            record.NegativeCounts.Add(count);
        }

        return record;
    }

    /// <summary>
    /// Adds the buckets of <paramref name="record"/>, taken by <see cref="ToRecord"/> from a sketch of the same
    /// relative accuracy.
    /// </summary>
    public void Merge(SketchRecord record)
    {
        if (record.HasMin && record.HasMax)
        {
            Min = Math.Min(Min, record.Min);
            Max = Math.Max(Max, record.Max);
        }
        else if (BucketRange(record) is var (low, high) && low <= high)
        {
            // A record without its bounds (none of ours: a hand-written or damaged one) is bounded by its own
            // buckets, within the relative accuracy, rather than leaving the extreme quantiles infinite.
            Min = Math.Min(Min, low);
            Max = Math.Max(Max, high);
        }

        for (var i = 0; i < Math.Min(record.PositiveIndexes.Count, record.PositiveCounts.Count); i++)
        {
            _positive.Add(record.PositiveIndexes[i], record.PositiveCounts[i]);
            Count += record.PositiveCounts[i];
        }

        for (var i = 0; i < Math.Min(record.NegativeIndexes.Count, record.NegativeCounts.Count); i++)
        {
            _negative.Add(record.NegativeIndexes[i], record.NegativeCounts[i]);
            Count += record.NegativeCounts[i];
        }

        ZeroCount += record.ZeroCount;
        Count += record.ZeroCount;
    }

    public void Clear()
    {
        _positive.Clear();
        _negative.Clear();
        ZeroCount = 0;
        Count = 0;
        Min = double.PositiveInfinity;
        Max = double.NegativeInfinity;
    }

    /// <summary>
    /// The value at quantile <paramref name="q"/> (0 to 1), within the relative accuracy and inside the range of the
    /// values counted; NaN when empty.
    /// </summary>
    public double Quantile(double q)
    {
        if (Count == 0)
        {
            return double.NaN;
        }

        // The extreme ranks are known exactly; the others are clamped into the range seen.
        var rank = (long)Math.Floor(q * (Count - 1));
        return rank <= 0 ? Min : rank >= Count - 1 ? Max : Math.Clamp(UnclampedQuantile(q), Min, Max);
    }

    /// <summary>The values of a record's lowest and highest buckets; (+∞, −∞) when it counts nothing.</summary>
    private (double Low, double High) BucketRange(SketchRecord record)
    {
        var (low, high) = (double.PositiveInfinity, double.NegativeInfinity);
        foreach (var index in record.NegativeIndexes)
        {
            (low, high) = (Math.Min(low, -Value(index)), Math.Max(high, -Value(index)));
        }

        if (record.ZeroCount > 0)
        {
            (low, high) = (Math.Min(low, 0), Math.Max(high, 0));
        }

        foreach (var index in record.PositiveIndexes)
        {
            (low, high) = (Math.Min(low, Value(index)), Math.Max(high, Value(index)));
        }

        return (low, high);
    }

    private double UnclampedQuantile(double q)
    {
        // The rank as numpy's 'lower' interpolation takes it: the element at floor(q * (n − 1)).
        var rank = (long)Math.Floor(q * (Count - 1));
        long seen = 0;
        foreach (var (index, count) in _negative.Descending())
        {
            seen += count;
            if (seen > rank)
            {
                return -Value(index);
            }
        }

        seen += ZeroCount;
        if (seen > rank)
        {
            return 0;
        }

        foreach (var (index, count) in _positive.Ascending())
        {
            seen += count;
            if (seen > rank)
            {
                return Value(index);
            }
        }

        return Value(_positive.MaxIndex);
    }

    /// <summary>
    /// Every bucket in increasing order of value, as (upper bound, count): the smallest values' bucket first, the
    /// zero bucket with upper bound <see cref="MinIndexable"/>.
    /// </summary>
    public IEnumerable<(double UpperBound, long Count)> Buckets()
    {
        foreach (var (index, count) in _negative.Descending())
        {
            // Bucket k of the negative store holds [−γ^k, −γ^(k−1)).
            yield return (-Math.Pow(_gamma, index - 1), count);
        }

        if (ZeroCount > 0)
        {
            yield return (MinIndexable, ZeroCount);
        }

        foreach (var (index, count) in _positive.Ascending())
        {
            yield return (Math.Pow(_gamma, index), count);
        }
    }

    private int Index(double value) => (int)Math.Ceiling(Math.Log(value) / _logGamma);

    private double Value(int index) => 2 * Math.Pow(_gamma, index) / (_gamma + 1);

    /// <summary>Dense counts over a contiguous range of bucket indexes, grown as values arrive.</summary>
    private sealed class Store
    {
        private long[] _counts = [];
        private int _offset;

        public int MaxIndex => _offset + _counts.Length - 1;

        public void Add(int index)
        {
            // Slot may replace the array: take the position first.
            var slot = Slot(index);
            _counts[slot]++;
        }

        public void Add(int index, long count)
        {
            var slot = Slot(index);
            _counts[slot] += count;
        }

        public void Merge(Store other)
        {
            for (var i = 0; i < other._counts.Length; i++)
            {
                if (other._counts[i] != 0)
                {
                    var slot = Slot(other._offset + i);
                    _counts[slot] += other._counts[i];
                }
            }
        }

        public void Clear() => Array.Clear(_counts);

        public IEnumerable<(int Index, long Count)> Ascending()
        {
            for (var i = 0; i < _counts.Length; i++)
            {
                if (_counts[i] != 0)
                {
                    yield return (_offset + i, _counts[i]);
                }
            }
        }

        public IEnumerable<(int Index, long Count)> Descending()
        {
            for (var i = _counts.Length - 1; i >= 0; i--)
            {
                if (_counts[i] != 0)
                {
                    yield return (_offset + i, _counts[i]);
                }
            }
        }

        /// <summary>The array position of a bucket, growing the range to hold it.</summary>
        private int Slot(int index)
        {
            if (_counts.Length == 0)
            {
                _counts = new long[16];
                _offset = index - 8;
            }

            if (index < _offset)
            {
                var newOffset = Math.Max(index - 8, _offset + _counts.Length - MaxBuckets);
                if (index < newOffset)
                {
                    index = newOffset; // folded into the lowest bucket kept
                }

                Resize(newOffset, _offset + _counts.Length);
            }
            else if (index >= _offset + _counts.Length)
            {
                var newEnd = Math.Max(index + 9, _offset + (2 * _counts.Length));
                if (newEnd - _offset > MaxBuckets)
                {
                    // Keep the high end: fold the lowest buckets into the new lowest.
                    Resize(Math.Max(_offset, newEnd - MaxBuckets), newEnd, foldLow: true);
                }
                else
                {
                    Resize(_offset, newEnd);
                }
            }

            return index - _offset;
        }

        private void Resize(int newOffset, int newEnd, bool foldLow = false)
        {
            var counts = new long[newEnd - newOffset];
            for (var i = 0; i < _counts.Length; i++)
            {
                var target = _offset + i - newOffset;
                if (target < 0)
                {
                    if (!foldLow)
                    {
                        continue;
                    }

                    target = 0;
                }

                if (target < counts.Length)
                {
                    counts[target] += _counts[i];
                }
            }

            _counts = counts;
            _offset = newOffset;
        }
    }
}

using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Core.Windows;
using MlMonitoring.Sidecar.Drift.Persistence;
using MlMonitoring.Sidecar.Metrics;
using MlMonitoring.Sidecar.SharedState;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Drift;

/// <summary>
/// Drift of one model version: captures its baseline from its first events, then compares a rolling window of its
/// predictions and inputs with it. Per event the work is counting (a sketch update while the baseline is being
/// captured, a bin increment after); divergences are computed when metrics are read. The baseline is the fleet's:
/// each has an epoch (one more per pin); a replica adopts a newer one published by another (<see cref="Adopt"/>).
/// </summary>
internal sealed class DriftMonitor
{
    private const int SlotCount = 12;

    private readonly ModelVersionState _model;
    private readonly DriftOptions _options;
    private readonly SlotRing<WindowSlot> _window;
    private readonly Lock _gate = new();
    private Capture? _capture;
    private Baseline? _baseline;
    private int _baselineGeneration;
    private long _epoch;
    private bool _published;
    // The fleet's record of the baseline held, as the store has (or had) it: written back if the store loses it.
    private byte[]? _record;

    /// <summary>A monitor starting from the fleet's baseline of <paramref name="epoch"/>, or capturing it.</summary>
    /// <param name="model">The model version watched.</param>
    /// <param name="options">Window, bins and sizes.</param>
    /// <param name="epoch">The epoch of the baseline it starts with or captures.</param>
    /// <param name="baseline">The published baseline of that epoch; null to capture it from the next events.</param>
    /// <param name="captureSize">Events to capture when <paramref name="baseline"/> is null.</param>
    /// <param name="storedRecord">The store's record of <paramref name="baseline"/>, as read.</param>
    public DriftMonitor(ModelVersionState model, DriftOptions options, long epoch, PersistedBaseline? baseline, int captureSize, byte[]? storedRecord = null)
    {
        _model = model;
        _options = options;
        _window = new SlotRing<WindowSlot>(options.Window, SlotCount);
        _epoch = epoch;
        if (baseline is not null)
        {
            _baseline = Baseline.FromPersisted(baseline, model);
            _published = true;
            _record = storedRecord;
        }
        else
        {
            _capture = new Capture(captureSize);
        }
    }

    public ModelVersionState Model => _model;

    /// <summary>Called with a baseline just captured and its epoch, to publish it.</summary>
    public Action<DriftMonitor, PersistedBaseline, long>? Pinned { get; set; }

    /// <summary>The epoch of the baseline this monitor has or captures.</summary>
    public long Epoch
    {
        get
        {
            lock (_gate)
            {
                return _epoch;
            }
        }
    }

    /// <summary>A captured baseline the store has not taken yet (it was down, or the publish is in flight).</summary>
    public (PersistedBaseline Baseline, long Epoch)? Unpublished
    {
        get
        {
            lock (_gate)
            {
                return _baseline is { } baseline && !_published ? (baseline.ToPersisted(), _epoch) : null;
            }
        }
    }

    /// <summary>
    /// The fleet's baseline this monitor compares with, as the store took it, and its epoch; null while capturing
    /// or before the store took it.
    /// </summary>
    public (byte[] Record, long Epoch)? Held
    {
        get
        {
            lock (_gate)
            {
                return _baseline is not null && _published && _record is { } record ? (record, _epoch) : null;
            }
        }
    }

    /// <summary>Counts one recorded event.</summary>
    public void Observe(in RecordedPrediction recorded, long nowMs)
    {
        PersistedBaseline? pinned = null;
        long epoch = 0;
        lock (_gate)
        {
            var slot = _window.SlotFor(nowMs, nowMs);
            if (slot is not null && !double.IsNaN(recorded.Confidence))
            {
                slot.ConfidenceSum += recorded.Confidence;
                slot.ConfidenceCount++;
            }

            if (_capture is { } capture)
            {
                capture.Add(recorded);
                if (capture.Events >= capture.Size)
                {
                    _baseline = Baseline.FromCapture(capture, _options);
                    _capture = null;
                    _published = false;
                    _baselineGeneration++;
                    pinned = _baseline.ToPersisted();
                    epoch = _epoch;
                }
            }
            else if (slot is not null && _baseline is { } baseline)
            {
                slot.Count(recorded, baseline, _baselineGeneration);
            }
        }

        if (pinned is not null)
        {
            Pinned?.Invoke(this, pinned, epoch);
        }
    }

    /// <summary>Discards the baseline; the next <paramref name="size"/> events become the new one, of <paramref name="epoch"/>.</summary>
    public void Restart(int size, long epoch)
    {
        lock (_gate)
        {
            _baseline = null;
            _capture = new Capture(size);
            _published = false;
            _epoch = epoch;
            _baselineGeneration++;
        }
    }

    /// <summary>The store took this monitor's baseline of <paramref name="epoch"/>, as <paramref name="record"/>: it is the fleet's.</summary>
    public void MarkPublished(long epoch, byte[] record)
    {
        lock (_gate)
        {
            if (_epoch == epoch && _baseline is not null)
            {
                _published = true;
                _record = record;
            }
        }
    }

    /// <summary>
    /// The store took back the baseline this monitor holds (<paramref name="record"/>) as <paramref name="epoch"/>,
    /// after it had lost it: the same baseline, under the epoch that makes it the fleet's again.
    /// </summary>
    public void MarkWrittenBack(byte[] record, long epoch)
    {
        lock (_gate)
        {
            if (_published && ReferenceEquals(_record, record) && epoch >= _epoch)
            {
                _epoch = epoch;
            }
        }
    }

    /// <summary>
    /// Takes the fleet's record of this version if it is newer than what this monitor has: a later epoch (a
    /// baseline, or a pin to capture), or the baseline of this epoch when this monitor's own was not the one
    /// published (still capturing, or another replica completed first). Returns whether it was taken.
    /// </summary>
    public bool Adopt(StoredBaseline stored)
    {
        var (epoch, complete) = (stored.Epoch, stored.Complete);
        lock (_gate)
        {
            var newer = epoch > _epoch || (epoch == _epoch && complete && !(_baseline is not null && _published));
            if (!newer)
            {
                return false;
            }

            // Parsed only when taken: a replica reads the store every few seconds and mostly finds what it has.
            var record = PersistedBaseline.Parser.ParseFrom(stored.Data);
            if (complete)
            {
                _baseline = Baseline.FromPersisted(record, _model);
                _capture = null;
                _published = true;
                _record = stored.Data;
            }
            else
            {
                _baseline = null;
                _capture = new Capture(record.CaptureSize > 0 ? (int)record.CaptureSize : _options.BaselineSize);
                _published = false;
                _record = null;
            }

            _epoch = epoch;
            _baselineGeneration++;
            return true;
        }
    }

    public DriftSnapshot Read(long nowMs)
    {
        lock (_gate)
        {
            double confidenceSum = 0;
            long confidenceCount = 0;
            foreach (var slot in _window.Live(nowMs))
            {
                confidenceSum += slot.ConfidenceSum;
                confidenceCount += slot.ConfidenceCount;
            }

            var estimated = confidenceCount == 0 ? (double?)null : confidenceSum / confidenceCount;
            if (_baseline is not { } baseline)
            {
                return new DriftSnapshot(_capture?.Events ?? 0, false, estimated, []) { ConfidenceSum = confidenceSum, ConfidenceCount = confidenceCount };
            }

            var live = _window.Live(nowMs).Where(s => s.Generation == _baselineGeneration).ToList();
            var signals = new List<DriftSignal>();
            Compare(signals, "class", "", null, baseline.Classes.Categories, baseline.Classes.Counts, live.Select(s => s.Classes));
            if (baseline.Confidence is { } confidence)
            {
                Compare(signals, "confidence", "", confidence.Edges, null, confidence.Counts, live.Select(s => s.Confidence));
            }

            var quantiles = new List<FeatureQuantileCounts>();
            foreach (var feature in baseline.Features.OrderBy(f => f.FeatureName, StringComparer.Ordinal))
            {
                var ordinal = feature.Ordinal;
                if (At(baseline.Numeric, ordinal) is { } numeric)
                {
                    if (numeric.QuantileBucketCount == 0)
                    {
                        // A baseline stored before quantile buckets: its window counts per bin.
                        Compare(signals, "feature", feature.FeatureName, numeric.Edges, null, numeric.Counts, live.Select(s => At(s.Numeric, ordinal)));
                    }
                    else
                    {
                        var buckets = Sum(numeric.QuantileBucketCount, live.Select(s => At(s.Quantiles, ordinal)));
                        Compare(signals, "feature", feature.FeatureName, numeric.Edges, null, numeric.Counts, [numeric.BinCountsOf(buckets)]);
                        if (_published)
                        {
                            quantiles.Add(new FeatureQuantileCounts(feature.FeatureName, numeric.QuantileBucketLabels, buckets));
                        }
                    }
                }

                if (At(baseline.Categorical, ordinal) is { } categorical)
                {
                    Compare(signals, "feature", feature.FeatureName, null, categorical.Categories, categorical.Counts, live.Select(s => At(s.Categorical, ordinal)));
                }
            }

            return new DriftSnapshot(baseline.Events, true, estimated, signals)
            {
                BaselineSignals = baseline.SignalCount,
                ConfidenceSum = confidenceSum,
                ConfidenceCount = confidenceCount,
                FeatureQuantiles = quantiles,
            };
        }
    }

    /// <summary>
    /// The slots inside the window ending at <paramref name="nowMs"/>, to hand over to another replica: the
    /// estimate's terms always, the bin counts when they were counted against the fleet's (published) baseline.
    /// </summary>
    public DriftWindowRecord Export(long nowMs)
    {
        lock (_gate)
        {
            var baseline = _published ? _baseline : null;
            var record = new DriftWindowRecord { SlotMs = _window.SlotMs, BaselineEpoch = _epoch, BaselinePublished = baseline is not null };
            foreach (var (epoch, slot) in _window.LiveWithEpochs(nowMs))
            {
                var exported = new DriftSlotRecord { Epoch = epoch, ConfidenceSum = slot.ConfidenceSum, ConfidenceCount = slot.ConfidenceCount };
                if (baseline is not null && slot.Generation == _baselineGeneration)
                {
                    exported.HasBins = true;
                    exported.Classes.Add(slot.Classes);
                    exported.Confidence.Add(slot.Confidence);
                    foreach (var feature in baseline.Features)
                    {
                        if (At(slot.Numeric, feature.Ordinal) is { } numeric)
                        {
                            exported.Numeric[feature.FeatureName] = new BinCounts { Counts = { numeric } };
                        }

                        if (At(slot.Quantiles, feature.Ordinal) is { } quantiles)
                        {
                            exported.Quantiles[feature.FeatureName] = new BinCounts { Counts = { quantiles } };
                        }

                        if (At(slot.Categorical, feature.Ordinal) is { } categorical)
                        {
                            exported.Categorical[feature.FeatureName] = new BinCounts { Counts = { categorical } };
                        }
                    }
                }

                record.Slots.Add(exported);
            }

            return record;
        }
    }

    /// <summary>
    /// Adds the slots of another replica's window (<see cref="Export"/>) into the slots of the same time: the
    /// estimate's terms, and the bin counts when both count against the same published baseline. Returns the
    /// slots added.
    /// </summary>
    public int Merge(DriftWindowRecord record, long nowMs)
    {
        if (record.SlotMs != _window.SlotMs)
        {
            return 0; // another window length: its slots are not this window's
        }

        var merged = 0;
        lock (_gate)
        {
            var baseline = record.BaselinePublished && _published && _epoch == record.BaselineEpoch ? _baseline : null;
            foreach (var other in record.Slots)
            {
                if (_window.SlotOfEpoch(other.Epoch, nowMs) is not { } slot)
                {
                    continue;
                }

                slot.ConfidenceSum += other.ConfidenceSum;
                slot.ConfidenceCount += other.ConfidenceCount;
                if (baseline is not null && other.HasBins)
                {
                    slot.Merge(other, baseline, _baselineGeneration, _model);
                }

                merged++;
            }
        }

        return merged;
    }

    private static T? At<T>(T?[] byOrdinal, int ordinal)
        where T : class => ordinal < byOrdinal.Length ? byOrdinal[ordinal] : null;

    private static void Grow<T>(ref T?[] byOrdinal, int ordinal)
    {
        if (ordinal >= byOrdinal.Length)
        {
            Array.Resize(ref byOrdinal, Math.Max(ordinal + 1, byOrdinal.Length * 2));
        }
    }

    /// <summary>The window's counts per bin: the sum of its slots'.</summary>
    private static long[] Sum(int bins, IEnumerable<long[]?> windowCounts)
    {
        var sum = new long[bins];
        foreach (var counts in windowCounts)
        {
            if (counts is null)
            {
                continue;
            }

            for (var i = 0; i < sum.Length; i++)
            {
                sum[i] += counts[i];
            }
        }

        return sum;
    }

    private static void Compare(
        List<DriftSignal> signals, string signal, string feature, double[]? edges, string[]? categories, long[] baselineCounts, IEnumerable<long[]?> windowCounts)
    {
        var current = Sum(baselineCounts.Length, windowCounts);

        if (current.Sum() == 0)
        {
            return; // nothing to compare yet
        }

        var p = Divergence.Proportions(current);
        var q = Divergence.Proportions(baselineCounts);
        var result = new DriftSignal
        {
            Signal = signal,
            FeatureName = feature,
            Psi = Divergence.PopulationStabilityIndex(p, q),
            Js = Divergence.JensenShannonDistance(p, q),
        };
        if (edges is not null)
        {
            result.Edges.AddRange(edges);
        }

        if (categories is not null)
        {
            result.Categories.AddRange(categories);
        }

        result.BaselineCounts.AddRange(baselineCounts.Select(c => (ulong)c));
        result.CurrentCounts.AddRange(current.Select(c => (ulong)c));
        signals.Add(result);
    }

    /// <summary>What the first events of the version are accumulated into until the baseline is complete.</summary>
    private sealed class Capture(int size)
    {
        private DDSketch?[] _numeric = [];
        private Dictionary<string, long>?[] _categorical = [];

        public int Size { get; } = size;

        public long Events { get; private set; }

        public Dictionary<string, long> Classes { get; } = new(StringComparer.Ordinal);

        public DDSketch Confidence { get; } = new();

        public HashSet<FeatureSeries> Features { get; } = [];

        public DDSketch? NumericOf(FeatureSeries feature) => At(_numeric, feature.Ordinal);

        public Dictionary<string, long>? CategoricalOf(FeatureSeries feature) => At(_categorical, feature.Ordinal);

        public void Add(in RecordedPrediction recorded)
        {
            Events++;
            if (recorded.Class is { } predicted)
            {
                Classes[predicted.Name] = Classes.GetValueOrDefault(predicted.Name) + 1;
            }

            if (!double.IsNaN(recorded.Confidence))
            {
                Confidence.Add(recorded.Confidence);
            }

            var features = recorded.Features;
            var values = features.Values;
            var numeric = features.Numeric;
            for (var i = 0; i < numeric.Length; i++)
            {
                var feature = numeric[i];
                Grow(ref _numeric, feature.Ordinal);
                if (_numeric[feature.Ordinal] is not { } sketch)
                {
                    _numeric[feature.Ordinal] = sketch = new DDSketch();
                    Features.Add(feature);
                }

                sketch.Add(values[i]);
            }

            var categories = features.Categories;
            var categorical = features.Categorical;
            for (var i = 0; i < categorical.Length; i++)
            {
                var feature = categorical[i];
                Grow(ref _categorical, feature.Ordinal);
                if (_categorical[feature.Ordinal] is not { } counts)
                {
                    _categorical[feature.Ordinal] = counts = new(StringComparer.Ordinal);
                    Features.Add(feature);
                }

                // Distinct categories kept while capturing are bounded; the rare tail shares one entry.
                var key = counts.Count < 1_000 || counts.ContainsKey(categories[i]) ? categories[i] : LabelNames.Overflow;
                counts[key] = counts.GetValueOrDefault(key) + 1;
            }
        }
    }

    /// <summary>A pinned baseline: bins and baseline counts per signal; features indexed by ordinal.</summary>
    private sealed class Baseline
    {
        private NumericBins?[] _numeric = [];
        private CategoryBins?[] _categorical = [];

        public long Events { get; private init; }

        public required CategoryBins Classes { get; init; }

        public NumericBins? Confidence { get; private init; }

        public List<FeatureSeries> Features { get; } = [];

        public NumericBins?[] Numeric => _numeric;

        public CategoryBins?[] Categorical => _categorical;

        /// <summary>Signals compared: the classes when any was counted, the confidence, and each feature's numeric and categorical bins.</summary>
        public int SignalCount =>
            (Classes.Counts.Any(c => c > 0) ? 1 : 0) + (Confidence is null ? 0 : 1)
            + Features.Sum(f => (At(_numeric, f.Ordinal) is null ? 0 : 1) + (At(_categorical, f.Ordinal) is null ? 0 : 1));

        public static Baseline FromCapture(Capture capture, DriftOptions options)
        {
            var baseline = new Baseline
            {
                Events = capture.Events,
                // Every class of the baseline gets its own bin; classes new since then share the last.
                Classes = CategoryBins.FromCounts(capture.Classes, int.MaxValue),
                Confidence = capture.Confidence.Count > 0 ? NumericBins.FromSketch(capture.Confidence, options.Bins) : null,
            };
            foreach (var feature in capture.Features)
            {
                baseline.Add(
                    feature,
                    capture.NumericOf(feature) is { } sketch ? NumericBins.FromSketch(sketch, options.Bins) : null,
                    capture.CategoricalOf(feature) is { } counts ? CategoryBins.FromCounts(counts, options.MaxCategories) : null);
            }

            return baseline;
        }

        public static Baseline FromPersisted(PersistedBaseline persisted, ModelVersionState model)
        {
            var baseline = new Baseline
            {
                Events = (long)persisted.Events,
                Classes = CategoryBins.FromPersisted(persisted.Classes),
                Confidence = persisted.Confidence is { } confidence ? NumericBins.FromPersisted(confidence) : null,
            };
            foreach (var name in persisted.NumericFeatures.Keys.Union(persisted.CategoricalFeatures.Keys))
            {
                if (model.GetFeature(name) is { } feature)
                {
                    baseline.Add(
                        feature,
                        persisted.NumericFeatures.TryGetValue(name, out var numeric) ? NumericBins.FromPersisted(numeric) : null,
                        persisted.CategoricalFeatures.TryGetValue(name, out var categorical) ? CategoryBins.FromPersisted(categorical) : null);
                }
            }

            return baseline;
        }

        public PersistedBaseline ToPersisted()
        {
            var persisted = new PersistedBaseline
            {
                Events = (ulong)Events,
                Classes = Classes.ToPersisted(),
                Confidence = Confidence?.ToPersisted(),
            };
            foreach (var feature in Features)
            {
                if (At(_numeric, feature.Ordinal) is { } numeric)
                {
                    persisted.NumericFeatures[feature.FeatureName] = numeric.ToPersisted();
                }

                if (At(_categorical, feature.Ordinal) is { } categorical)
                {
                    persisted.CategoricalFeatures[feature.FeatureName] = categorical.ToPersisted();
                }
            }

            return persisted;
        }

        private void Add(FeatureSeries feature, NumericBins? numeric, CategoryBins? categorical)
        {
            Features.Add(feature);
            Grow(ref _numeric, feature.Ordinal);
            Grow(ref _categorical, feature.Ordinal);
            _numeric[feature.Ordinal] = numeric;
            _categorical[feature.Ordinal] = categorical;
        }
    }

    /// <summary>Counts of one slot of the current window, in the bins of the baseline it was counted against.</summary>
    private sealed class WindowSlot : SlotRing<WindowSlot>.ISlot
    {
        /// <summary>Adds another replica's counts of the same slot, counted against the same baseline.</summary>
        public void Merge(DriftSlotRecord other, Baseline baseline, int generation, ModelVersionState model)
        {
            CountAgainst(baseline, generation);
            CountArrays.AddInto(Classes, other.Classes);
            CountArrays.AddInto(Confidence, other.Confidence);
            foreach (var (name, counts) in other.Numeric)
            {
                if (model.FindFeature(name) is { } feature && At(baseline.Numeric, feature.Ordinal) is { } bins)
                {
                    CountArrays.AddInto(Numeric[feature.Ordinal] ??= new long[bins.BinCount], counts.Counts);
                }
            }

            foreach (var (name, counts) in other.Quantiles)
            {
                if (model.FindFeature(name) is { } feature && At(baseline.Numeric, feature.Ordinal) is { QuantileBucketCount: > 0 } bins)
                {
                    CountArrays.AddInto(Quantiles[feature.Ordinal] ??= new long[bins.QuantileBucketCount], counts.Counts);
                }
            }

            foreach (var (name, counts) in other.Categorical)
            {
                if (model.FindFeature(name) is { } feature && At(baseline.Categorical, feature.Ordinal) is { } bins)
                {
                    CountArrays.AddInto(Categorical[feature.Ordinal] ??= new long[bins.BinCount], counts.Counts);
                }
            }
        }

        /// <summary>Makes the slot count in the bins of <paramref name="baseline"/>, starting them at zero if it counted against another.</summary>
        private void CountAgainst(Baseline baseline, int generation)
        {
            if (Generation != generation)
            {
                Generation = generation;
                Classes = new long[baseline.Classes.BinCount];
                Confidence = new long[baseline.Confidence?.BinCount ?? 0];
                Numeric = new long[]?[baseline.Numeric.Length];
                Categorical = new long[]?[baseline.Categorical.Length];
                Quantiles = new long[]?[baseline.Numeric.Length];
            }
        }

        public int Generation = -1;
        public double ConfidenceSum;
        public long ConfidenceCount;
        public long[] Classes = [];
        public long[] Confidence = [];
        public long[]?[] Numeric = [];
        public long[]?[] Categorical = [];

        /// <summary>Per numeric feature, counts in its quantile buckets (<see cref="NumericBins.QuantileEdges"/>).</summary>
        public long[]?[] Quantiles = [];

        public void Reset()
        {
            Generation = -1;
            ConfidenceSum = 0;
            ConfidenceCount = 0;
            Array.Clear(Numeric);
            Array.Clear(Categorical);
            Array.Clear(Quantiles);
        }

        public void Count(in RecordedPrediction recorded, Baseline baseline, int generation)
        {
            CountAgainst(baseline, generation);

            if (recorded.Class is { } predicted)
            {
                Classes[baseline.Classes.BinOf(predicted.Name)]++;
            }

            if (!double.IsNaN(recorded.Confidence) && baseline.Confidence is { } confidence)
            {
                Confidence[confidence.BinOf(recorded.Confidence)]++;
            }

            var features = recorded.Features;
            var values = features.Values;
            var numeric = features.Numeric;
            for (var i = 0; i < numeric.Length; i++)
            {
                var ordinal = numeric[i].Ordinal;
                if (At(baseline.Numeric, ordinal) is not { } bins)
                {
                    continue;
                }

                // With quantile buckets the bins' counts are derived from them at read time (each bucket lies in one bin).
                if (bins.QuantileBucketCount > 0)
                {
                    (Quantiles[ordinal] ??= new long[bins.QuantileBucketCount])[bins.QuantileBucketOf(values[i])]++;
                }
                else
                {
                    (Numeric[ordinal] ??= new long[bins.BinCount])[bins.BinOf(values[i])]++;
                }
            }

            var categories = features.Categories;
            var categorical = features.Categorical;
            for (var i = 0; i < categorical.Length; i++)
            {
                var ordinal = categorical[i].Ordinal;
                if (At(baseline.Categorical, ordinal) is { } bins)
                {
                    (Categorical[ordinal] ??= new long[bins.BinCount])[bins.BinOf(categories[i])]++;
                }
            }
        }
    }
}

/// <summary>A numeric feature's values in the drift window, counted in the quantile buckets of the fleet's baseline.</summary>
/// <param name="FeatureName">The feature.</param>
/// <param name="UpperBounds">Each bucket's upper bound as its <c>le</c> label, the last <c>+Inf</c>.</param>
/// <param name="Counts">Values per bucket (not cumulative), one per bound.</param>
internal sealed record FeatureQuantileCounts(string FeatureName, string[] UpperBounds, long[] Counts);

/// <summary>The drift picture of one model version at one moment.</summary>
internal sealed record DriftSnapshot(long BaselineEvents, bool Pinned, double? EstimatedAccuracy, IReadOnlyList<DriftSignal> Signals)
{
    /// <summary>Numeric features' window values in the fleet baseline's quantile buckets; empty until the baseline is the fleet's.</summary>
    public IReadOnlyList<FeatureQuantileCounts> FeatureQuantiles { get; init; } = [];

    /// <summary>Σ top-class confidence over the drift window: with <see cref="ConfidenceCount"/>, the estimate's terms.</summary>
    public double ConfidenceSum { get; init; }

    /// <summary>Predictions with a confidence in the drift window.</summary>
    public long ConfidenceCount { get; init; }

    /// <summary>Signals the baseline can compare (classes, confidence, each feature), whether the window has events of them or not.</summary>
    public int BaselineSignals { get; init; }
}

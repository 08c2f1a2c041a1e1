using MlMonitoring.Sidecar.Drift.Persistence;
using MlMonitoring.Sidecar.Hosting;
using MlMonitoring.Sidecar.Metrics;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Drift;

/// <summary>
/// Drift of one model version: captures its baseline from its own first events, then compares a rolling window
/// of its predictions and inputs with it. Per event the work is counting (a sketch update while the baseline is
/// being captured, a bin increment after); divergences are computed when metrics are read.
/// </summary>
internal sealed class DriftMonitor
{
    private const int SlotCount = 12;

    private readonly ModelSeries _model;
    private readonly DriftOptions _options;
    private readonly SlotRing<WindowSlot> _window;
    private readonly Lock _gate = new();
    private Capture? _capture;
    private Baseline? _baseline;
    private int _baselineGeneration;

    public DriftMonitor(ModelSeries model, DriftOptions options, PersistedBaseline? persisted)
    {
        _model = model;
        _options = options;
        _window = new SlotRing<WindowSlot>(options.Window, SlotCount);
        if (persisted is not null)
        {
            _baseline = Baseline.FromPersisted(persisted);
        }
        else
        {
            _capture = new Capture(options.BaselineSize);
        }
    }

    public ModelSeries Model => _model;

    /// <summary>Called with a baseline just pinned, to persist it.</summary>
    public Action<DriftMonitor, PersistedBaseline>? Pinned { get; set; }

    /// <summary>Counts one recorded event.</summary>
    public void Observe(PredictionEvent e, in RecordedPrediction recorded, long nowMs)
    {
        PersistedBaseline? pinned = null;
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
                capture.Add(e, recorded, _model);
                if (capture.Events >= capture.Size)
                {
                    _baseline = Baseline.FromCapture(capture, _options);
                    _capture = null;
                    _baselineGeneration++;
                    pinned = _baseline.ToPersisted();
                }
            }
            else if (slot is not null && _baseline is { } baseline)
            {
                slot.Count(e, recorded, baseline, _baselineGeneration, _model);
            }
        }

        if (pinned is not null)
        {
            Pinned?.Invoke(this, pinned);
        }
    }

    /// <summary>Discards the baseline; the next <paramref name="size"/> events become the new one.</summary>
    public void Restart(int size)
    {
        lock (_gate)
        {
            _baseline = null;
            _capture = new Capture(size);
            _baselineGeneration++;
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
                return new DriftSnapshot(_capture?.Events ?? 0, false, estimated, []);
            }

            var live = _window.Live(nowMs).Where(s => s.Generation == _baselineGeneration).ToList();
            var signals = new List<DriftSignal>();
            Compare(signals, "class", "", null, baseline.Classes.Categories, baseline.Classes.Counts, live.Select(s => s.Classes));
            if (baseline.Confidence is { } confidence)
            {
                Compare(signals, "confidence", "", confidence.Edges, null, confidence.Counts, live.Select(s => s.Confidence));
            }

            foreach (var (name, bins) in baseline.Numeric.OrderBy(f => f.Key, StringComparer.Ordinal))
            {
                Compare(signals, "feature", name, bins.Edges, null, bins.Counts, live.Select(s => s.Numeric.GetValueOrDefault(name)));
            }

            foreach (var (name, bins) in baseline.Categorical.OrderBy(f => f.Key, StringComparer.Ordinal))
            {
                Compare(signals, "feature", name, null, bins.Categories, bins.Counts, live.Select(s => s.Categorical.GetValueOrDefault(name)));
            }

            return new DriftSnapshot(baseline.Events, true, estimated, signals);
        }
    }

    private static void Compare(
        List<DriftSignal> signals, string signal, string feature, double[]? edges, string[]? categories, long[] baselineCounts, IEnumerable<long[]?> windowCounts)
    {
        var current = new long[baselineCounts.Length];
        foreach (var counts in windowCounts)
        {
            if (counts is null)
            {
                continue;
            }

            for (var i = 0; i < current.Length; i++)
            {
                current[i] += counts[i];
            }
        }

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
        public int Size { get; } = size;

        public long Events { get; private set; }

        public Dictionary<string, long> Classes { get; } = new(StringComparer.Ordinal);

        public DDSketch Confidence { get; } = new();

        public Dictionary<string, DDSketch> Numeric { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, Dictionary<string, long>> Categorical { get; } = new(StringComparer.Ordinal);

        public void Add(PredictionEvent e, in RecordedPrediction recorded, ModelSeries model)
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

            foreach (var (name, value) in e.Features)
            {
                if (double.IsNaN(value) || model.FindFeature(name) is null)
                {
                    continue;
                }

                if (!Numeric.TryGetValue(name, out var sketch))
                {
                    Numeric[name] = sketch = new DDSketch();
                }

                sketch.Add(value);
            }

            foreach (var (name, category) in e.CategoricalFeatures)
            {
                if (model.FindFeature(name) is null)
                {
                    continue;
                }

                if (!Categorical.TryGetValue(name, out var counts))
                {
                    Categorical[name] = counts = new(StringComparer.Ordinal);
                }

                // Distinct categories kept while capturing are bounded; the rare tail shares one entry.
                var key = counts.Count < 1_000 || counts.ContainsKey(category) ? category : LabelNames.Overflow;
                counts[key] = counts.GetValueOrDefault(key) + 1;
            }
        }
    }

    /// <summary>A pinned baseline: bins and baseline counts per signal.</summary>
    private sealed class Baseline
    {
        public long Events { get; init; }

        public required CategoryBins Classes { get; init; }

        public NumericBins? Confidence { get; init; }

        public Dictionary<string, NumericBins> Numeric { get; init; } = new(StringComparer.Ordinal);

        public Dictionary<string, CategoryBins> Categorical { get; init; } = new(StringComparer.Ordinal);

        public static Baseline FromCapture(Capture capture, DriftOptions options) => new()
        {
            Events = capture.Events,
            // Every class of the baseline gets its own bin; classes new since then share the last.
            Classes = CategoryBins.FromCounts(capture.Classes, int.MaxValue),
            Confidence = capture.Confidence.Count > 0 ? NumericBins.FromSketch(capture.Confidence, options.Bins) : null,
            Numeric = capture.Numeric.ToDictionary(f => f.Key, f => NumericBins.FromSketch(f.Value, options.Bins), StringComparer.Ordinal),
            Categorical = capture.Categorical.ToDictionary(f => f.Key, f => CategoryBins.FromCounts(f.Value, options.MaxCategories), StringComparer.Ordinal),
        };

        public static Baseline FromPersisted(PersistedBaseline persisted) => new()
        {
            Events = (long)persisted.Events,
            Classes = CategoryBins.FromPersisted(persisted.Classes),
            Confidence = persisted.Confidence is { } confidence ? NumericBins.FromPersisted(confidence) : null,
            Numeric = persisted.NumericFeatures.ToDictionary(f => f.Key, f => NumericBins.FromPersisted(f.Value), StringComparer.Ordinal),
            Categorical = persisted.CategoricalFeatures.ToDictionary(f => f.Key, f => CategoryBins.FromPersisted(f.Value), StringComparer.Ordinal),
        };

        public PersistedBaseline ToPersisted()
        {
            var persisted = new PersistedBaseline
            {
                Events = (ulong)Events,
                Classes = Classes.ToPersisted(),
                Confidence = Confidence?.ToPersisted(),
            };
            foreach (var (name, bins) in Numeric)
            {
                persisted.NumericFeatures[name] = bins.ToPersisted();
            }

            foreach (var (name, bins) in Categorical)
            {
                persisted.CategoricalFeatures[name] = bins.ToPersisted();
            }

            return persisted;
        }
    }

    /// <summary>Counts of one slot of the current window, in the bins of the baseline it was counted against.</summary>
    private sealed class WindowSlot : SlotRing<WindowSlot>.ISlot
    {
        public int Generation = -1;
        public double ConfidenceSum;
        public long ConfidenceCount;
        public long[] Classes = [];
        public long[] Confidence = [];
        public Dictionary<string, long[]> Numeric { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, long[]> Categorical { get; } = new(StringComparer.Ordinal);

        public void Reset()
        {
            Generation = -1;
            ConfidenceSum = 0;
            ConfidenceCount = 0;
            Numeric.Clear();
            Categorical.Clear();
        }

        public void Count(PredictionEvent e, in RecordedPrediction recorded, Baseline baseline, int generation, ModelSeries model)
        {
            if (Generation != generation)
            {
                Generation = generation;
                Classes = new long[baseline.Classes.BinCount];
                Confidence = new long[baseline.Confidence?.BinCount ?? 0];
                Numeric.Clear();
                Categorical.Clear();
            }

            if (recorded.Class is { } predicted)
            {
                Classes[baseline.Classes.BinOf(predicted.Name)]++;
            }

            if (!double.IsNaN(recorded.Confidence) && baseline.Confidence is { } confidence)
            {
                Confidence[confidence.BinOf(recorded.Confidence)]++;
            }

            foreach (var (name, value) in e.Features)
            {
                if (double.IsNaN(value) || !baseline.Numeric.TryGetValue(name, out var bins))
                {
                    continue;
                }

                if (!Numeric.TryGetValue(name, out var counts))
                {
                    Numeric[name] = counts = new long[bins.BinCount];
                }

                counts[bins.BinOf(value)]++;
            }

            foreach (var (name, category) in e.CategoricalFeatures)
            {
                if (!baseline.Categorical.TryGetValue(name, out var bins))
                {
                    continue;
                }

                if (!Categorical.TryGetValue(name, out var counts))
                {
                    Categorical[name] = counts = new long[bins.BinCount];
                }

                counts[bins.BinOf(category)]++;
            }
        }
    }
}

/// <summary>The drift picture of one model version at one moment.</summary>
internal sealed record DriftSnapshot(long BaselineEvents, bool Pinned, double? EstimatedAccuracy, IReadOnlyList<DriftSignal> Signals);

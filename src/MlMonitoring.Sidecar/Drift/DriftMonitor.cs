using MlMonitoring.Internal.V1;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Metrics;
using MlMonitoring.Sidecar.SharedState;

namespace MlMonitoring.Sidecar.Drift;

/// <summary>
/// Drift of one model version: captures its baseline from its first events, then compares a rolling window of its
/// predictions and inputs with it. Per event the work is counting (a sketch update while the baseline is being
/// captured, a bin increment after); divergences are computed when metrics are read. The baseline is the fleet's:
/// each has an epoch (one more per pin); a replica adopts a newer one published by another (<see cref="Adopt"/>).
/// </summary>
internal sealed partial class DriftMonitor
{
    private const int SlotCount = 12;

    private readonly ModelVersionState _model;
    private readonly DriftOptions _options;
    private readonly SlotRing<DriftWindowSlot> _window;
    private readonly Lock _gate = new();
    private BaselineCapture? _capture;
    private DriftBaseline? _baseline;
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
        _window = new SlotRing<DriftWindowSlot>(options.Window, SlotCount);
        _epoch = epoch;
        if (baseline is not null)
        {
            _baseline = DriftBaseline.FromPersisted(baseline, model);
            _published = true;
            _record = storedRecord;
        }
        else
        {
            _capture = new BaselineCapture(captureSize);
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
                    _baseline = DriftBaseline.FromCapture(capture, _options);
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
            _capture = new BaselineCapture(size);
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
                _baseline = DriftBaseline.FromPersisted(record, _model);
                _capture = null;
                _published = true;
                _record = stored.Data;
            }
            else
            {
                _baseline = null;
                _capture = new BaselineCapture(record.CaptureSize > 0 ? (int)record.CaptureSize : _options.BaselineSize);
                _published = false;
                _record = null;
            }

            _epoch = epoch;
            _baselineGeneration++;
            return true;
        }
    }
}

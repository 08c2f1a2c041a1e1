using MlMonitoring.Internal.V1;

namespace MlMonitoring.Sidecar.Drift;

/// <summary>The window handed over to, and merged from, other replicas (<c>Handover/</c>).</summary>
internal sealed partial class DriftMonitor
{
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
                        if (ByOrdinal.At(slot.Quantiles, feature.Ordinal) is { } quantiles)
                        {
                            exported.Quantiles[feature.FeatureName] = new BinCounts { Counts = { quantiles } };
                        }

                        if (ByOrdinal.At(slot.Categorical, feature.Ordinal) is { } categorical)
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
}

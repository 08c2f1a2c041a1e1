using MlMonitoring.Internal.V1;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.GroundTruth;

/// <summary>
/// The labelled predictions of one model version over <c>Monitoring:GroundTruth:Window</c>, by prediction time,
/// kept as a confusion matrix and regression error sums per time slot: memory grows with the number of classes,
/// never with traffic.
/// </summary>
internal sealed class QualityWindow(TimeSpan window)
{
    /// <summary>Label delay buckets, in seconds: a minute to two weeks.</summary>
    public static readonly double[] DelayBuckets = [60, 300, 900, 3600, 21600, 86400, 259200, 604800, 1209600];

    private const int SlotCount = 28;

    private readonly SlotRing<Slot> _slots = new(window, SlotCount);
    private readonly Lock _gate = new();

    /// <summary>Equal-width confidence bins of the expected calibration error.</summary>
    public const int CalibrationBins = 10;

    public void AddClassification(ClassSeries predicted, ClassSeries actual, double confidence, long predictionTimeMs, double delaySeconds, long nowMs)
    {
        lock (_gate)
        {
            if (_slots.SlotFor(predictionTimeMs, nowMs) is { } slot)
            {
                var cell = (predicted, actual);
                slot.Cells[cell] = slot.Cells.GetValueOrDefault(cell) + 1;
                slot.DelayCounts[DelayBucketOf(delaySeconds)]++;
                if (!double.IsNaN(confidence))
                {
                    // Bins [0, 0.1), [0.1, 0.2) … [0.9, 1.0]: a confidence of exactly 1 belongs to the last.
                    var bin = Math.Min(CalibrationBins - 1, (int)(confidence * CalibrationBins));
                    slot.CalibrationCount[bin]++;
                    slot.CalibrationConfidence[bin] += confidence;
                    slot.CalibrationCorrect[bin] += ReferenceEquals(predicted, actual) ? 1 : 0;
                }
            }
        }
    }

    public void AddRegression(double predicted, double actual, long predictionTimeMs, double delaySeconds, long nowMs)
    {
        lock (_gate)
        {
            if (_slots.SlotFor(predictionTimeMs, nowMs) is { } slot)
            {
                var error = actual - predicted;
                slot.RegressionCount++;
                slot.AbsoluteErrorSum += Math.Abs(error);
                slot.SquaredErrorSum += error * error;
                slot.DelayCounts[DelayBucketOf(delaySeconds)]++;
            }
        }
    }

    /// <summary>Quality of the labelled predictions inside the window ending at <paramref name="nowMs"/>.</summary>
    public QualitySnapshot Read(long nowMs)
    {
        var cells = new Dictionary<(ClassSeries Predicted, ClassSeries Actual), long>();
        var delays = new long[DelayBuckets.Length + 1];
        var calibrationCount = new long[CalibrationBins];
        var calibrationConfidence = new double[CalibrationBins];
        var calibrationCorrect = new long[CalibrationBins];
        long regressionCount = 0;
        double absoluteSum = 0, squaredSum = 0;
        lock (_gate)
        {
            foreach (var slot in _slots.Live(nowMs))
            {
                foreach (var (cell, count) in slot.Cells)
                {
                    cells[cell] = cells.GetValueOrDefault(cell) + count;
                }

                regressionCount += slot.RegressionCount;
                absoluteSum += slot.AbsoluteErrorSum;
                squaredSum += slot.SquaredErrorSum;
                for (var i = 0; i < delays.Length; i++)
                {
                    delays[i] += slot.DelayCounts[i];
                }

                for (var i = 0; i < CalibrationBins; i++)
                {
                    calibrationCount[i] += slot.CalibrationCount[i];
                    calibrationConfidence[i] += slot.CalibrationConfidence[i];
                    calibrationCorrect[i] += slot.CalibrationCorrect[i];
                }
            }
        }

        return QualitySnapshot.From(cells, regressionCount, absoluteSum, squaredSum, delays) with
        {
            CalibrationError = ExpectedCalibrationError(calibrationCount, calibrationConfidence, calibrationCorrect),
            Calibration = new CalibrationCounts(calibrationCount, calibrationCorrect, calibrationConfidence),
        };
    }

    /// <summary>The slots inside the window ending at <paramref name="nowMs"/>, to hand over to another replica.</summary>
    public QualityWindowRecord Export(long nowMs)
    {
        var record = new QualityWindowRecord { SlotMs = _slots.SlotMs };
        lock (_gate)
        {
            foreach (var (epoch, slot) in _slots.LiveWithEpochs(nowMs))
            {
                var exported = new QualitySlotRecord
                {
                    Epoch = epoch,
                    DelayCounts = { slot.DelayCounts },
                    CalibrationLabels = { slot.CalibrationCount },
                    CalibrationConfidence = { slot.CalibrationConfidence },
                    CalibrationCorrect = { slot.CalibrationCorrect },
                    RegressionLabels = slot.RegressionCount,
                    AbsoluteErrorSum = slot.AbsoluteErrorSum,
                    SquaredErrorSum = slot.SquaredErrorSum,
                };
                foreach (var ((predicted, actual), count) in slot.Cells)
                {
                    exported.Cells.Add(new ConfusionCell { Predicted = predicted.Name, Actual = actual.Name, Count = count });
                }

                record.Slots.Add(exported);
            }
        }

        return record;
    }

    /// <summary>
    /// Adds the slots of another replica's window of <paramref name="model"/> (<see cref="Export"/>) into the slots
    /// of the same prediction time; those already out of this window are left out. Returns the labels added.
    /// </summary>
    public long Merge(QualityWindowRecord record, ModelVersionState model, long nowMs)
    {
        if (record.SlotMs != _slots.SlotMs)
        {
            return 0; // another window length: its slots are not this window's
        }

        long added = 0;
        lock (_gate)
        {
            foreach (var other in record.Slots)
            {
                if (_slots.SlotOfEpoch(other.Epoch, nowMs) is not { } slot)
                {
                    continue;
                }

                foreach (var cell in other.Cells)
                {
                    var key = (model.GetClass(cell.Predicted), model.GetClass(cell.Actual));
                    slot.Cells[key] = slot.Cells.GetValueOrDefault(key) + cell.Count;
                    added += cell.Count;
                }

                CountArrays.AddInto(slot.DelayCounts, other.DelayCounts);
                CountArrays.AddInto(slot.CalibrationCount, other.CalibrationLabels);
                CountArrays.AddInto(slot.CalibrationConfidence, other.CalibrationConfidence);
                CountArrays.AddInto(slot.CalibrationCorrect, other.CalibrationCorrect);
                slot.RegressionCount += other.RegressionLabels;
                slot.AbsoluteErrorSum += other.AbsoluteErrorSum;
                slot.SquaredErrorSum += other.SquaredErrorSum;
                added += other.RegressionLabels;
            }
        }

        return added;
    }

    /// <summary>ECE = Σ_b (n_b / N) |accuracy_b − mean confidence_b|; NaN without labelled confidences.</summary>
    private static double ExpectedCalibrationError(long[] counts, double[] confidenceSums, long[] correct)
    {
        var total = counts.Sum();
        if (total == 0)
        {
            return double.NaN;
        }

        var error = 0.0;
        for (var b = 0; b < counts.Length; b++)
        {
            if (counts[b] > 0)
            {
                error += (double)counts[b] / total * Math.Abs(((double)correct[b] / counts[b]) - (confidenceSums[b] / counts[b]));
            }
        }

        return error;
    }

    private static int DelayBucketOf(double seconds)
    {
        var i = 0;
        while (i < DelayBuckets.Length && seconds > DelayBuckets[i])
        {
            i++;
        }

        return i;
    }

    private sealed class Slot : SlotRing<Slot>.ISlot
    {
        public readonly Dictionary<(ClassSeries Predicted, ClassSeries Actual), long> Cells = [];
        public readonly long[] DelayCounts = new long[DelayBuckets.Length + 1];
        public readonly long[] CalibrationCount = new long[CalibrationBins];
        public readonly double[] CalibrationConfidence = new double[CalibrationBins];
        public readonly long[] CalibrationCorrect = new long[CalibrationBins];
        public long RegressionCount;
        public double AbsoluteErrorSum;
        public double SquaredErrorSum;

        public void Reset()
        {
            Cells.Clear();
            Array.Clear(DelayCounts);
            Array.Clear(CalibrationCount);
            Array.Clear(CalibrationConfidence);
            Array.Clear(CalibrationCorrect);
            RegressionCount = 0;
            AbsoluteErrorSum = 0;
            SquaredErrorSum = 0;
        }
    }
}

/// <summary>
/// Precision, recall and F1 of one class, with its support (labels of that class), and the counts they come from:
/// true positives and how often the class was predicted.
/// </summary>
internal readonly record struct ClassScore(string ClassName, double Precision, double Recall, double F1, long Support)
{
    public long TruePositives { get; init; }

    public long Predicted { get; init; }
}

/// <summary>Per confidence bin (<see cref="QualityWindow.CalibrationBins"/> equal-width bins): labels, correct ones, and the sum of their confidences.</summary>
internal sealed record CalibrationCounts(long[] Labels, long[] Correct, double[] ConfidenceSums);

/// <summary>
/// Quality figures computed as scikit-learn does: accuracy_score, precision_recall_fscore_support over the union
/// of true and predicted labels in sorted order, zero where a ratio is undefined, macro averages as unweighted
/// means of the per-class figures; mean_absolute_error and the square root of mean_squared_error.
/// </summary>
internal sealed record QualitySnapshot(
    long ClassificationCount,
    double Accuracy,
    IReadOnlyList<ClassScore> Classes,
    double PrecisionMacro,
    double RecallMacro,
    double F1Macro,
    long RegressionCount,
    double MeanAbsoluteError,
    double RootMeanSquaredError,
    long[] DelayCounts)
{
    /// <summary>The confusion matrix: labels by (predicted, actual) class.</summary>
    public IReadOnlyDictionary<(ClassSeries Predicted, ClassSeries Actual), long> Cells { get; init; } =
        new Dictionary<(ClassSeries Predicted, ClassSeries Actual), long>();

    /// <summary>Σ |actual − predicted| over the regression labels.</summary>
    public double AbsoluteErrorSum { get; init; }

    /// <summary>Σ (actual − predicted)² over the regression labels.</summary>
    public double SquaredErrorSum { get; init; }

    /// <summary>The counts behind <see cref="CalibrationError"/>; null when not read from a window.</summary>
    public CalibrationCounts? Calibration { get; init; }

    public long SampleSize => ClassificationCount + RegressionCount;

    /// <summary>Expected calibration error of the labelled classifications that carried a confidence.</summary>
    public double CalibrationError { get; init; } = double.NaN;

    public static QualitySnapshot From(
        Dictionary<(ClassSeries Predicted, ClassSeries Actual), long> cells, long regressionCount, double absoluteSum, double squaredSum, long[] delays)
    {
        var truePositives = new Dictionary<string, long>(StringComparer.Ordinal);
        var predictedTotals = new Dictionary<string, long>(StringComparer.Ordinal);
        var actualTotals = new Dictionary<string, long>(StringComparer.Ordinal);
        long total = 0, correct = 0;
        foreach (var ((predicted, actual), count) in cells)
        {
            total += count;
            predictedTotals[predicted.Name] = predictedTotals.GetValueOrDefault(predicted.Name) + count;
            actualTotals[actual.Name] = actualTotals.GetValueOrDefault(actual.Name) + count;
            if (ReferenceEquals(predicted, actual))
            {
                correct += count;
                truePositives[actual.Name] = truePositives.GetValueOrDefault(actual.Name) + count;
            }
        }

        var classes = predictedTotals.Keys.Union(actualTotals.Keys).Order(StringComparer.Ordinal).Select(name =>
        {
            var tp = truePositives.GetValueOrDefault(name);
            var predicted = predictedTotals.GetValueOrDefault(name);
            var actual = actualTotals.GetValueOrDefault(name);
            var precision = predicted == 0 ? 0 : (double)tp / predicted;
            var recall = actual == 0 ? 0 : (double)tp / actual;
            // F1 from the confusion counts, 2TP / (2TP + FP + FN): equal to 2PR / (P + R), exact in integers.
            var f1 = predicted + actual == 0 ? 0 : 2.0 * tp / (predicted + actual);
            return new ClassScore(name, precision, recall, f1, actual) { TruePositives = tp, Predicted = predicted };
        }).ToList();

        return new QualitySnapshot(
            total,
            total == 0 ? double.NaN : (double)correct / total,
            classes,
            classes.Count == 0 ? double.NaN : classes.Average(c => c.Precision),
            classes.Count == 0 ? double.NaN : classes.Average(c => c.Recall),
            classes.Count == 0 ? double.NaN : classes.Average(c => c.F1),
            regressionCount,
            regressionCount == 0 ? double.NaN : absoluteSum / regressionCount,
            regressionCount == 0 ? double.NaN : Math.Sqrt(squaredSum / regressionCount),
            delays)
        {
            Cells = cells,
            AbsoluteErrorSum = absoluteSum,
            SquaredErrorSum = squaredSum,
        };
    }
}

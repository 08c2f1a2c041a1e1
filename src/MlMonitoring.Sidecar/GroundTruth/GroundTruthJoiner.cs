using Google.Protobuf.Collections;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Metrics;
using MlMonitoring.Sidecar.SharedState;
using MlMonitoring.V1;
using Tag = System.Collections.Generic.KeyValuePair<string, object?>;

namespace MlMonitoring.Sidecar.GroundTruth;

/// <summary>
/// Joins delayed labels to the predictions waiting in the <see cref="ISharedStateStore"/> and records the model's
/// quality; attributes business outcomes to the prediction they follow.
/// </summary>
internal sealed class GroundTruthJoiner(
    ISharedStateStore store,
    GroundTruthInstruments instruments,
    QualityWindows qualityWindows,
    ModelVersionRegistry registry,
    IOptions<MonitoringOptions> options,
    TimeProvider time)
{
    private static readonly Tag[] UnknownTags = [new("reason", "unknown")];
    private static readonly Tag[] DuplicateTags = [new("reason", "duplicate")];
    private static readonly Tag[] ExpiredTags = [new("reason", "expired")];

    /// <summary>How long a label call waits for queued predictions to reach an external store before it goes on.</summary>
    private static readonly TimeSpan FlushWait = TimeSpan.FromSeconds(2);

    private readonly int _maxNameLength = options.Value.Limits.MaxNameLength;

    /// <summary>Remembers a recorded prediction that carries an id, so that its label can join it later.</summary>
    public void Remember(IncomingPrediction e, in RecordedPrediction recorded)
    {
        if (e.PredictionId.Length == 0 || e.ResultCase is not (PredictionEvent.ResultOneofCase.Classification or PredictionEvent.ResultOneofCase.Regression))
        {
            return;
        }

        var timeMs = e.HasTime ? e.TimeUnixMilliseconds : recorded.ReceivedMs;
        var value = e.ResultCase == PredictionEvent.ResultOneofCase.Regression ? e.PredictedValue : 0;
        store.Remember(e.PredictionId, new PendingPrediction(recorded.Model, recorded.Class, value, (float)recorded.Confidence, timeMs));
    }

    /// <summary>Joins a batch of labels. Unknown, expired and duplicate labels are counted, not rejected.</summary>
    public async Task<FollowUpResult> JoinAsync(RepeatedField<V1.GroundTruth> labels, CancellationToken cancellationToken)
    {
        var response = new RecordResponse();
        var invalid = 0;
        var storeUnavailable = 0;
        // Predictions sent before these labels must be claimable, even if their write is still queued.
        await FlushAsync(cancellationToken);
        var now = time.GetUtcNow();
        string? storeDown = null;
        for (var i = 0; i < labels.Count; i++)
        {
            var label = labels[i];
            if (Validate(label) is { } violation)
            {
                ContractLimits.Reject(response, i, violation);
                invalid++;
                continue;
            }

            if (storeDown is not null)
            {
                // One failure answers for the batch: the rest would each wait for the same timeout.
                ContractLimits.Reject(response, i, storeDown);
                storeUnavailable++;
                continue;
            }

            Claim claim;
            try
            {
                claim = await store.ClaimAsync(label.PredictionId, label.ActualCase == V1.GroundTruth.ActualOneofCase.ActualClass, now, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Not claimed: the same label can be sent again once the store is back.
                storeDown = $"prediction_id: join store unavailable ({e.GetType().Name}); send the label again";
                ContractLimits.Reject(response, i, storeDown);
                storeUnavailable++;
                continue;
            }

            switch (claim.Outcome)
            {
                case ClaimOutcome.Claimed:
                    Record(claim.Prediction, label, now);
                    break;
                case ClaimOutcome.Unknown:
                    instruments.Published.Unmatched.Add(1, UnknownTags);
                    break;
                case ClaimOutcome.Duplicate:
                    instruments.Published.Unmatched.Add(1, DuplicateTags);
                    break;
                case ClaimOutcome.Expired:
                    instruments.Published.Unmatched.Add(1, ExpiredTags);
                    break;
                case ClaimOutcome.Mismatch:
                    ContractLimits.Reject(response, i, claim.Prediction.IsClassification
                        ? "actual_value: the prediction is a classification; send actual_class"
                        : "actual_class: the prediction is a regression; send actual_value");
                    invalid++;
                    continue;
            }

            response.Accepted++;
        }

        return new FollowUpResult(response, invalid, storeUnavailable);
    }

    /// <summary>Counts business outcomes against the model version of their prediction, or the model they name.</summary>
    public async Task<FollowUpResult> AttributeAsync(RepeatedField<Outcome> outcomes, CancellationToken cancellationToken)
    {
        var response = new RecordResponse();
        var invalid = 0;
        var storeUnavailable = 0;
        await FlushAsync(cancellationToken);
        string? storeDown = null;
        for (var i = 0; i < outcomes.Count; i++)
        {
            var outcome = outcomes[i];
            if (Validate(outcome) is { } violation)
            {
                ContractLimits.Reject(response, i, violation);
                invalid++;
                continue;
            }

            ModelVersionState? model = null;
            if (outcome.PredictionId.Length > 0)
            {
                if (storeDown is not null)
                {
                    ContractLimits.Reject(response, i, storeDown);
                    storeUnavailable++;
                    continue;
                }

                try
                {
                    model = (await store.FindAsync(outcome.PredictionId, cancellationToken))?.Model;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    storeDown = $"prediction_id: join store unavailable ({e.GetType().Name}); send the outcome again";
                    ContractLimits.Reject(response, i, storeDown);
                    storeUnavailable++;
                    continue;
                }
            }

            if (model is null && outcome.ModelName.Length > 0)
            {
                model = registry.Get(outcome.ModelName, LabelNames.UnknownVersion);
            }

            if (model is null)
            {
                instruments.Published.UnattributedOutcomes.Add(1);
            }
            else
            {
                var tags = model.GetOutcomeTags(outcome.Kind);
                var published = instruments.Published;
                published.Outcomes.Add(1, tags);
                published.OutcomeValue.Add(outcome.Value, tags);
            }

            response.Accepted++;
        }

        return new FollowUpResult(response, invalid, storeUnavailable);
    }

    /// <summary>Waits for queued writes, but not forever: with the store down, the claims then fail with a reason.</summary>
    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(FlushWait);
        try
        {
            await store.FlushAsync(bounded.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The store is slow or away; what is written can still be claimed.
        }
    }

    private void Record(in PendingPrediction prediction, V1.GroundTruth label, DateTimeOffset now)
    {
        var model = prediction.Model;
        var labelTime = label.Time is { } t ? t.ToDateTimeOffset() : now;
        var delaySeconds = Math.Max(0, (labelTime.ToUnixTimeMilliseconds() - prediction.TimeMs) / 1000.0);
        var published = instruments.Published;
        published.Delay.Record(delaySeconds, model.Tags);
        var nowMs = now.ToUnixTimeMilliseconds();
        if (prediction.PredictedClass is { } predicted)
        {
            var actual = model.GetClass(label.ActualClass);
            published.Labels.Add(1, instruments.ConfusionTags(predicted, actual));
            if (ReferenceEquals(predicted, actual))
            {
                published.CorrectLabels.Add(1, model.Tags);
            }

            qualityWindows.Of(model).AddClassification(predicted, actual, prediction.Confidence, prediction.TimeMs, delaySeconds, nowMs);
        }
        else
        {
            var error = label.ActualValue - prediction.PredictedValue;
            published.RegressionLabels.Add(1, model.Tags);
            published.AbsoluteError.Add(Math.Abs(error), model.Tags);
            published.SquaredError.Add(error * error, model.Tags);
            qualityWindows.Of(model).AddRegression(prediction.PredictedValue, label.ActualValue, prediction.TimeMs, delaySeconds, nowMs);
        }
    }

    private string? Validate(V1.GroundTruth label) => label switch
    {
        { PredictionId.Length: 0 } => "prediction_id: required",
        { PredictionId.Length: > ContractLimits.MaxPredictionIdLength } => $"prediction_id: longer than {ContractLimits.MaxPredictionIdLength} characters",
        { ActualCase: V1.GroundTruth.ActualOneofCase.None } => "actual: one of actual_class or actual_value is required",
        { ActualCase: V1.GroundTruth.ActualOneofCase.ActualClass, ActualClass.Length: 0 } => "actual_class: must not be empty",
        { ActualCase: V1.GroundTruth.ActualOneofCase.ActualClass } when label.ActualClass.Length > _maxNameLength => $"actual_class: longer than {_maxNameLength} characters",
        { ActualCase: V1.GroundTruth.ActualOneofCase.ActualValue } when !double.IsFinite(label.ActualValue) => $"actual_value: must be finite, got {label.ActualValue}",
        _ when !ContractLimits.IsValidTimestamp(label.Time) => "time: not a valid timestamp",
        _ => null,
    };

    private string? Validate(Outcome outcome) => outcome switch
    {
        { Kind.Length: 0 } => "kind: required",
        _ when outcome.Kind.Length > _maxNameLength => $"kind: longer than {_maxNameLength} characters",
        { PredictionId.Length: 0, ModelName.Length: 0 } => "prediction_id: required when model_name is empty",
        { PredictionId.Length: > ContractLimits.MaxPredictionIdLength } => $"prediction_id: longer than {ContractLimits.MaxPredictionIdLength} characters",
        { ModelName.Length: > ContractLimits.MaxModelNameLength } => $"model_name: longer than {ContractLimits.MaxModelNameLength} characters",
        _ when !double.IsFinite(outcome.Value) => $"value: must be finite, got {outcome.Value}",
        _ when !ContractLimits.IsValidTimestamp(outcome.Time) => "time: not a valid timestamp",
        _ => null,
    };
}

/// <summary>
/// What became of a batch of labels or outcomes: the answer for the client, and how many items were invalid (the
/// client's fault, never worth sending again) or refused because the shared-state store could not be reached (to
/// be sent again). The service maps it to a status in one place.
/// </summary>
internal readonly record struct FollowUpResult(RecordResponse Response, int Invalid, int StoreUnavailable);

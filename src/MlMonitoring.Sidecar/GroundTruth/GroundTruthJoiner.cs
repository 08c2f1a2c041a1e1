using Google.Protobuf.Collections;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Metrics;
using MlMonitoring.Sidecar.SharedState;
using MlMonitoring.V1;
using Tag = System.Collections.Generic.KeyValuePair<string, object?>;

namespace MlMonitoring.Sidecar.GroundTruth;

/// <summary>
/// Joins delayed labels to the predictions waiting in the <see cref="IPendingPredictionStore"/> and records the model's
/// quality; attributes business outcomes to the prediction they follow. A label or outcome whose prediction is not
/// there yet waits for it (<see cref="EarlyLabels"/>); one the store cannot answer for is refused as retryable.
/// Either way nothing accepted is dropped unseen: it joins, or ends in a counter with its reason.
/// </summary>
internal sealed class GroundTruthJoiner(
    IPendingPredictionStore store,
    EarlyLabels early,
    SharedStateHealth health,
    GroundTruthInstruments instruments,
    QualityWindows qualityWindows,
    ModelVersionRegistry registry,
    IOptions<MonitoringOptions> options,
    IOptions<GroundTruthOptions> groundTruth,
    TimeProvider time)
{
    private static readonly Tag[] UnknownTags = [new("reason", "unknown")];
    private static readonly Tag[] DuplicateTags = [new("reason", "duplicate")];
    private static readonly Tag[] ExpiredTags = [new("reason", "expired")];
    private static readonly Tag[] MismatchTags = [new("reason", "mismatch")];
    private static readonly Tag[] StoreUnavailableTags = [new("reason", "store_unavailable")];

    private readonly int _maxNameLength = options.Value.Limits.MaxNameLength;
    private readonly long _graceMs = (long)groundTruth.Value.EarlyLabelGrace.TotalMilliseconds;
    private readonly int _maxEarly = groundTruth.Value.MaxEarlyLabels;
    private readonly TimeSpan _storeTimeout = groundTruth.Value.StoreTimeout;

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

    /// <summary>
    /// Joins a batch of labels. Duplicate and expired labels are counted; one whose prediction is not found yet
    /// waits for it; one the store could not answer for in time is refused as retryable.
    /// </summary>
    public async Task<FollowUpResult> JoinAsync(RepeatedField<V1.GroundTruth> labels, CancellationToken cancellationToken)
    {
        var response = new RecordResponse();
        var invalid = 0;
        var refused = 0;
        var started = time.GetTimestamp();
        // Predictions sent before these labels are usually claimable at once, even if their write is still queued.
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

            // One failure, or the call's time spent, answers for the rest of the batch: each would wait as long.
            storeDown ??= time.GetElapsedTime(started) > _storeTimeout ? "prediction_id: shared state too slow to answer; send the label again" : null;
            if (storeDown is not null)
            {
                ContractLimits.RejectRetryable(response, i, storeDown);
                refused++;
                continue;
            }

            Claim claim;
            try
            {
                claim = await ClaimAsync(label, now.ToUnixTimeMilliseconds(), now, Remaining(started), cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // Not claimed: the same label can be sent again once the store is back.
                storeDown = $"prediction_id: shared state unavailable ({e.GetType().Name}); send the label again";
                ContractLimits.RejectRetryable(response, i, storeDown);
                refused++;
                continue;
            }

            if (claim.Outcome == ClaimOutcome.Mismatch)
            {
                ContractLimits.Reject(response, i, MismatchReason(claim));
                invalid++;
                continue;
            }

            if (claim.Outcome == ClaimOutcome.Unknown && _graceMs > 0)
            {
                if (!TryHold(label, null, now.ToUnixTimeMilliseconds(), response, i))
                {
                    refused++;
                    continue;
                }
            }
            else
            {
                Settle(claim, label, now.ToUnixTimeMilliseconds(), now);
            }

            response.Accepted++;
        }

        return new FollowUpResult(response, invalid, refused);
    }

    /// <summary>
    /// Counts business outcomes against the model version of their prediction; one whose prediction is not found
    /// yet waits for it, then falls back to the model it names.
    /// </summary>
    public async Task<FollowUpResult> AttributeAsync(RepeatedField<Outcome> outcomes, CancellationToken cancellationToken)
    {
        var response = new RecordResponse();
        var invalid = 0;
        var refused = 0;
        var started = time.GetTimestamp();
        await FlushAsync(cancellationToken);
        var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
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

            if (outcome.PredictionId.Length == 0)
            {
                Attribute(null, outcome);
                response.Accepted++;
                continue;
            }

            storeDown ??= time.GetElapsedTime(started) > _storeTimeout ? "prediction_id: shared state too slow to answer; send the outcome again" : null;
            if (storeDown is not null)
            {
                ContractLimits.RejectRetryable(response, i, storeDown);
                refused++;
                continue;
            }

            PendingPrediction? prediction;
            try
            {
                prediction = await FindAsync(outcome.PredictionId, Remaining(started), cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                storeDown = $"prediction_id: shared state unavailable ({e.GetType().Name}); send the outcome again";
                ContractLimits.RejectRetryable(response, i, storeDown);
                refused++;
                continue;
            }

            if (prediction is null && _graceMs > 0)
            {
                if (!TryHold(null, outcome, nowMs, response, i))
                {
                    refused++;
                    continue;
                }
            }
            else
            {
                Attribute(prediction?.Model, outcome);
            }

            response.Accepted++;
        }

        return new FollowUpResult(response, invalid, refused);
    }

    /// <summary>
    /// Tries again the labels and outcomes due now: each joins, waits on, or (its grace over, or the sidecar
    /// stopping) ends in the counter of what never found its prediction.
    /// </summary>
    public async Task RetryEarlyAsync(bool final, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var nowMs = now.ToUnixTimeMilliseconds();
        var due = final ? early.TakeAll() : early.TakeDue(nowMs);
        foreach (var waiting in due)
        {
            var lastTry = final || nowMs >= waiting.DeadlineMs;
            try
            {
                if (waiting.Label is { } label)
                {
                    var claim = await ClaimAsync(label, waiting.ReceivedMs, now, _storeTimeout, cancellationToken);
                    if (claim.Outcome == ClaimOutcome.Unknown && !lastTry)
                    {
                        early.Wait(waiting, nowMs);
                        continue;
                    }

                    if (claim.Outcome == ClaimOutcome.Mismatch)
                    {
                        // Too late to refuse it: the call was answered when it waited.
                        instruments.Published.Unmatched.Add(1, MismatchTags);
                    }
                    else
                    {
                        Settle(claim, label, waiting.ReceivedMs, now);
                    }
                }
                else
                {
                    var prediction = await FindAsync(waiting.PredictionId, _storeTimeout, cancellationToken);
                    if (prediction is null && !lastTry)
                    {
                        early.Wait(waiting, nowMs);
                        continue;
                    }

                    Attribute(prediction?.Model, waiting.Outcome!);
                }
            }
            catch (Exception) when (!lastTry && !cancellationToken.IsCancellationRequested)
            {
                // The store is away: the entry keeps waiting, within its grace.
                early.Wait(waiting, nowMs);
                continue;
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                // Its grace ended with the store still away: it cannot be refused any more, only counted.
                if (waiting.Label is not null)
                {
                    instruments.Published.Unmatched.Add(1, StoreUnavailableTags);
                }
                else
                {
                    Attribute(null, waiting.Outcome!);
                }
            }

            early.Settle(waiting);
        }
    }

    /// <summary>
    /// Keeps a label or outcome until its prediction comes; false, with item <paramref name="index"/> refused as
    /// retryable, when <c>MaxEarlyLabels</c> already wait.
    /// </summary>
    private bool TryHold(V1.GroundTruth? label, Outcome? outcome, long nowMs, RecordResponse response, int index)
    {
        if (!early.TryHold(new EarlyLabel(label, outcome, nowMs, nowMs + _graceMs)))
        {
            var (waiting, item) = label is null ? ("labels and outcomes", "outcome") : ("labels", "label");
            ContractLimits.RejectRetryable(response, index, $"prediction_id: not seen yet, and Monitoring:GroundTruth:MaxEarlyLabels ({_maxEarly}) {waiting} already wait for theirs; send the {item} again");
            return false;
        }

        _ = instruments.Published; // publishes the gauge of what waits
        return true;
    }

    private void Settle(in Claim claim, V1.GroundTruth label, long receivedMs, DateTimeOffset now)
    {
        switch (claim.Outcome)
        {
            case ClaimOutcome.Claimed:
                Record(claim.Prediction, label, receivedMs, now);
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
        }
    }

    private void Attribute(ModelVersionState? model, Outcome outcome)
    {
        if (model is null && outcome.ModelName.Length > 0)
        {
            model = registry.Get(outcome.ModelName, LabelNames.UnknownVersion);
        }

        if (model is null)
        {
            instruments.Published.UnattributedOutcomes.Add(1);
            return;
        }

        var tags = model.GetOutcomeTags(outcome.Kind);
        var published = instruments.Published;
        published.Outcomes.Add(1, tags);
        published.OutcomeValue.Add(outcome.Value, tags);
    }

    private static string MismatchReason(in Claim claim) => claim.Prediction.IsClassification
        ? "actual_value: the prediction is a classification; send actual_class"
        : "actual_class: the prediction is a regression; send actual_value";

    /// <summary>What is left of a call's <c>StoreTimeout</c>; never quite nothing, so that a fast store still answers.</summary>
    private TimeSpan Remaining(long started) =>
        TimeSpan.FromTicks(Math.Max((_storeTimeout - time.GetElapsedTime(started)).Ticks, TimeSpan.FromMilliseconds(10).Ticks));

    /// <summary>A claim that takes longer than <paramref name="timeout"/> fails as the store being away: the caller must not wait on a store that does not answer.</summary>
    private async Task<Claim> ClaimAsync(V1.GroundTruth label, long receivedMs, DateTimeOffset now, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var claiming = store.ClaimAsync(label.PredictionId, label.ActualCase == V1.GroundTruth.ActualOneofCase.ActualClass, now, cancellationToken).AsTask();
        try
        {
            return await claiming.WaitAsync(timeout, time, cancellationToken);
        }
        catch (TimeoutException e)
        {
            // The store's own errors are reported by the store; one that does not answer only shows here.
            health.ReportFailure("claim", e);
            // The claim may still succeed after this caller gave up on it. Its prediction is then labelled by this
            // label and no other, so it is recorded here; the label sent again meets it as a duplicate.
            _ = claiming.ContinueWith(
                late =>
                {
                    if (late.IsCompletedSuccessfully && late.Result.Outcome == ClaimOutcome.Claimed)
                    {
                        Record(late.Result.Prediction, label, receivedMs, now);
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
            throw;
        }
    }

    private async Task<PendingPrediction?> FindAsync(string predictionId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            return await store.FindAsync(predictionId, cancellationToken).AsTask().WaitAsync(timeout, time, cancellationToken);
        }
        catch (TimeoutException e)
        {
            health.ReportFailure("find", e);
            throw;
        }
    }

    /// <summary>
    /// Waits for queued writes for half the call's time at most: with the store down, the claims then fail with a
    /// reason; with a long queue, a label not found yet waits for its prediction.
    /// </summary>
    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(_storeTimeout / 2);
        try
        {
            await store.FlushAsync(bounded.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The store is slow or away; what is written can still be claimed.
        }
    }

    private void Record(in PendingPrediction prediction, V1.GroundTruth label, long receivedMs, DateTimeOffset now)
    {
        var model = prediction.Model;
        var labelTimeMs = label.Time is { } t ? t.ToDateTimeOffset().ToUnixTimeMilliseconds() : receivedMs;
        var delaySeconds = Math.Max(0, (labelTimeMs - prediction.TimeMs) / 1000.0);
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
/// client's fault, never worth sending again) or refused as retryable (the store could not be reached, too many
/// waited; to be sent again). The service maps it to a status in one place.
/// </summary>
internal readonly record struct FollowUpResult(RecordResponse Response, int Invalid, int Retryable);

using System.Text.Json;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Tap.Protocols;

/// <summary>
/// KServe v1: <c>{"instances": [...]}</c> in, <c>{"predictions": [...]}</c> out, one prediction per instance. An
/// instance that is an object names its features; one that is an array has them named by the mapping's
/// <c>FeatureNames</c>. A prediction is a class label, a class index, a list of class probabilities or a value.
/// </summary>
internal static class KServeV1
{
    public static void Read(TappedCall call, ObservationContext context)
    {
        var model = call.PathModel!;
        var mapping = context.MappingOf(model);
        using var request = OpenInferenceRest.Parse(context.Observable(call.Request), null, context);
        using var response = OpenInferenceRest.Parse(context.Observable(call.Response), null, context);
        var instances = ArrayOf(request, "instances") ?? ArrayOf(request, "inputs");
        var predictions = ArrayOf(response, "predictions");
        var count = predictions?.GetArrayLength() ?? instances?.GetArrayLength() ?? 1;

        var events = context.Events;
        events.Start(count, model, context.VersionOf(model, null), call.Duration.TotalSeconds, call.PredictionIdHeader ?? OpenInferenceRest.StringOf(request, "id"));
        if (CallOutcome.FailureOf(call, grpc: false) is { } failure)
        {
            events.Fail(failure.Kind, failure.ErrorType);
            return;
        }

        var fitted = true;
        if (instances is { } rows && rows.GetArrayLength() == events.Count)
        {
            var i = 0;
            foreach (var row in rows.EnumerateArray())
            {
                fitted &= ReadFeatures(row, mapping, events.Span[i++]);
            }
        }

        if (mapping is not null && mapping.Task != TapTask.None && predictions is { } items)
        {
            var i = 0;
            foreach (var item in items.EnumerateArray())
            {
                if (i < events.Count)
                {
                    fitted &= ReadPrediction(item, mapping, events.Span[i++]);
                }
            }
        }

        if (!fitted)
        {
            context.Skip(SkipReason.Unparsable);
        }
    }

    private static bool ReadFeatures(JsonElement row, TapModelMapping? mapping, IncomingPrediction e)
    {
        switch (row.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var feature in row.EnumerateObject())
                {
                    SetFeature(e, feature.Name, feature.Value);
                }

                return true;
            case JsonValueKind.Array when mapping?.FeatureNames is { } names:
                if (row.GetArrayLength() != names.Length)
                {
                    return false;
                }

                var c = 0;
                foreach (var value in row.EnumerateArray())
                {
                    SetFeature(e, names[c++], value);
                }

                return true;
            default:
                return true;
        }
    }

    /// <summary>A number is a numeric feature, a string a categorical one; anything else is not a feature.</summary>
    private static void SetFeature(IncomingPrediction e, string name, JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Number)
        {
            e.Features.Set(name, value.GetDouble());
        }
        else if (value.ValueKind == JsonValueKind.String)
        {
            e.CategoricalFeatures.Set(name, value.GetString()!);
        }
    }

    private static bool ReadPrediction(JsonElement item, TapModelMapping mapping, IncomingPrediction e)
    {
        if (mapping.Task == TapTask.Regression)
        {
            var value = item.ValueKind == JsonValueKind.Array && item.GetArrayLength() == 1 ? item[0] : item;
            if (value.ValueKind != JsonValueKind.Number)
            {
                return false;
            }

            e.ResultCase = PredictionEvent.ResultOneofCase.Regression;
            e.PredictedValue = value.GetDouble();
            return true;
        }

        e.ResultCase = PredictionEvent.ResultOneofCase.Classification;
        switch (item.ValueKind)
        {
            case JsonValueKind.String:
                e.PredictedClass = item.GetString()!;
                return true;
            case JsonValueKind.Number:
                e.PredictedClass = TensorMapping.ClassName(mapping, item.GetDouble());
                return true;
            case JsonValueKind.Array:
                var c = 0;
                foreach (var score in item.EnumerateArray())
                {
                    if (score.ValueKind != JsonValueKind.Number)
                    {
                        return false;
                    }

                    e.ClassScores.Set(TensorMapping.ClassName(mapping, c++), score.GetDouble());
                }

                return c > 0;
            default:
                e.ResultCase = PredictionEvent.ResultOneofCase.None;
                return false;
        }
    }

    private static JsonElement? ArrayOf(JsonDocument? document, string property) =>
        document is not null && document.RootElement.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Array
            ? value
            : null;
}

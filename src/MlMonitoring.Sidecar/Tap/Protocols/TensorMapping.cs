using System.Globalization;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Tap.Protocols;

/// <summary>
/// Applies a model's <see cref="TapModelMapping"/> to the tensors of one call: the class, its probabilities or the
/// value from the outputs, the features from the inputs, instance by instance.
/// </summary>
internal static class TensorMapping
{
    /// <summary>Instances of a call: the first dimension of the mapped output, else of the first output, else of the first input.</summary>
    public static int InstanceCount(TapModelMapping? mapping, IReadOnlyList<Tensor> outputs, IReadOnlyList<Tensor> inputs)
    {
        var mapped = mapping is null ? null
            : Find(outputs, mapping.ClassOutput) ?? Find(outputs, mapping.ProbabilitiesOutput) ?? Find(outputs, mapping.ValueOutput);
        var tensor = mapped ?? (outputs.Count > 0 ? outputs[0] : inputs.Count > 0 ? inputs[0] : null);
        return tensor is null ? 1 : (int)Math.Clamp(tensor.Batch, 1, int.MaxValue);
    }

    /// <summary>
    /// The events of one Open Inference Protocol call (REST or gRPC): one per instance, failed with the call's error,
    /// or given the mapped prediction and features of the bodies that could be read.
    /// </summary>
    public static void ToEvents(
        TappedCall call, ObservationContext context, bool grpc, string model, string version, string? predictionId,
        IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor> outputs, bool requestRead, bool responseRead)
    {
        var mapping = context.MappingOf(model);
        var events = context.Events;
        events.Start(InstanceCount(mapping, outputs, inputs), model, version, call.Duration.TotalSeconds, predictionId);
        if (CallOutcome.FailureOf(call, grpc) is { } failure)
        {
            events.Fail(failure.Kind, failure.ErrorType);
            return;
        }

        if (mapping is not null)
        {
            var fitted = (!responseRead || ApplyOutputs(mapping, outputs, events.Span))
                & (!requestRead || ApplyFeatures(mapping, inputs, events.Span));
            if (!fitted)
            {
                context.Skip(SkipReason.Unparsable);
            }
        }
    }

    /// <summary>Fills the prediction of each event from the outputs; false when a mapped output is missing or misshapen.</summary>
    public static bool ApplyOutputs(TapModelMapping mapping, IReadOnlyList<Tensor> outputs, Span<IncomingPrediction> events)
    {
        var n = events.Length;
        switch (mapping.Task)
        {
            case TapTask.Classification:
                var classes = Find(outputs, mapping.ClassOutput);
                var probabilities = Find(outputs, mapping.ProbabilitiesOutput);
                if ((mapping.ClassOutput is not null && (classes is null || classes.WidthFor(n) != 1))
                    || (mapping.ProbabilitiesOutput is not null && (probabilities is null || probabilities.IsText || probabilities.WidthFor(n) < 1)))
                {
                    return false;
                }

                if (classes is null && probabilities is null)
                {
                    return false;
                }

                for (var i = 0; i < n; i++)
                {
                    var e = events[i];
                    e.ResultCase = PredictionEvent.ResultOneofCase.Classification;
                    if (classes is not null)
                    {
                        e.PredictedClass = ClassName(mapping, classes, i);
                    }

                    if (probabilities is not null)
                    {
                        var width = probabilities.WidthFor(n);
                        for (var c = 0; c < width; c++)
                        {
                            e.ClassScores.Set(ClassName(mapping, c), probabilities.Numbers![(i * width) + c]);
                        }
                    }
                }

                return true;
            case TapTask.Regression:
                var values = Find(outputs, mapping.ValueOutput);
                if (values is null || values.IsText || values.WidthFor(n) != 1)
                {
                    return false;
                }

                for (var i = 0; i < n; i++)
                {
                    events[i].ResultCase = PredictionEvent.ResultOneofCase.Regression;
                    events[i].PredictedValue = values.Numbers![i];
                }

                return true;
            default:
                return true;
        }
    }

    /// <summary>Fills the features of each event from the mapped inputs; false when a mapped input is missing or misshapen.</summary>
    public static bool ApplyFeatures(TapModelMapping mapping, IReadOnlyList<Tensor> inputs, Span<IncomingPrediction> events)
    {
        if (mapping.FeatureInputs is not { Length: > 0 } names)
        {
            return true;
        }

        var n = events.Length;
        var multiColumn = names.Count(name => Find(inputs, name) is { } t && t.WidthFor(n) > 1);
        foreach (var name in names)
        {
            var input = Find(inputs, name);
            var width = input?.WidthFor(n) ?? 0;
            if (input is null || width == 0)
            {
                return false;
            }

            var columnNames = width == 1 ? [name]
                : multiColumn == 1 && mapping.FeatureNames is { } featureNames && featureNames.Length == width ? featureNames
                : [.. Enumerable.Range(0, width).Select(c => string.Create(CultureInfo.InvariantCulture, $"{name}_{c}"))];
            for (var i = 0; i < n; i++)
            {
                for (var c = 0; c < width; c++)
                {
                    if (input.IsText)
                    {
                        events[i].CategoricalFeatures.Set(columnNames[c], input.Texts![(i * width) + c]);
                    }
                    else
                    {
                        events[i].Features.Set(columnNames[c], input.Numbers![(i * width) + c]);
                    }
                }
            }
        }

        return true;
    }

    /// <summary>The class at instance <paramref name="i"/> of a class output: a label as is, an index by <see cref="TapModelMapping.ClassNames"/>.</summary>
    public static string ClassName(TapModelMapping mapping, Tensor classes, int i) =>
        classes.IsText ? classes.Texts![i] : ClassName(mapping, classes.Numbers![i]);

    public static string ClassName(TapModelMapping mapping, double index) =>
        mapping.ClassNames is { } names && index >= 0 && index < names.Length && index == Math.Floor(index)
            ? names[(int)index]
            : index.ToString(CultureInfo.InvariantCulture);

    private static Tensor? Find(IReadOnlyList<Tensor> tensors, string? name)
    {
        if (name is null)
        {
            return null;
        }

        foreach (var tensor in tensors)
        {
            if (tensor.Name == name)
            {
                return tensor;
            }
        }

        return null;
    }
}

using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Tap;

/// <summary>
/// LLM serving metrics on the OpenTelemetry GenAI semantic conventions (the GenAI metrics of semantic conventions
/// 1.37 and later, status Development: names and attributes may still change). Instruments, units, attributes and
/// bucket boundaries are the conventions' own; finish reasons, which they do not define as a metric, are
/// <c>ml_llm_finish_reasons</c>. Every label value taken from traffic passes the cardinality limits.
/// </summary>
internal sealed class GenAiInstruments
{
    public static readonly double[] RequestDurationBuckets = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

    public static readonly double[] TimePerOutputTokenBuckets = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5];

    public static readonly long[] TokenUsageBuckets = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

    private readonly Histogram<double> _requestDuration;
    private readonly Histogram<double> _timeToFirstToken;
    private readonly Histogram<double> _timePerOutputToken;
    private readonly Histogram<long> _tokenUsage;
    private readonly Counter<long> _finishReasons;
    private readonly BoundedSeriesMap<string, string> _models;
    private readonly BoundedSeriesMap<string, string> _reasons;
    private readonly BoundedSeriesMap<string, string> _errorTypes;
    private readonly string _provider;

    /// <summary>Creates the instruments; time to first token has the conventions' boundaries plus the SLO file's targets.</summary>
    public GenAiInstruments(IMeterFactory meterFactory, IOptions<MonitoringOptions> options, IOptions<TapOptions> tap, SidecarMetrics selfMetrics, TimeToFirstTokenBoundaries timeToFirstToken)
    {
        var meter = meterFactory.Create(MeterNames.GenAi);
        _requestDuration = meter.CreateHistogram(
            "gen_ai.server.request.duration", unit: "s",
            description: "Generative AI server request duration such as time-to-last byte or last output token.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = RequestDurationBuckets });
        _timeToFirstToken = meter.CreateHistogram(
            "gen_ai.server.time_to_first_token", unit: "s",
            description: "Time to generate first token for successful responses.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = timeToFirstToken.Values });
        _timePerOutputToken = meter.CreateHistogram(
            "gen_ai.server.time_per_output_token", unit: "s",
            description: "Time per output token generated after the first token for successful responses.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = TimePerOutputTokenBuckets });
        _tokenUsage = meter.CreateHistogram(
            "gen_ai.client.token.usage", unit: "{token}",
            description: "Number of input and output tokens used.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = TokenUsageBuckets });
        _finishReasons = meter.CreateCounter<long>(
            "ml_llm_finish_reasons", description: "Choices of LLM responses by finish reason (stop, length, content_filter, tool_calls...).");

        var settings = options.Value;
        var limiter = new SeriesLimiter(settings.Limits, selfMetrics);
        _models = new(limiter, SeriesLimit.Models, settings.Limits.MaxModels, name => name, _ => LabelNames.Overflow, StringComparer.Ordinal);
        _reasons = new(limiter, SeriesLimit.Classes, settings.Limits.MaxClassesPerModel, name => name, _ => LabelNames.Overflow, StringComparer.Ordinal);
        _errorTypes = new(limiter, SeriesLimit.ErrorTypes, settings.Limits.MaxErrorTypesPerModel, name => name, _ => LabelNames.Overflow, StringComparer.Ordinal);
        _provider = tap.Value.GenAiProviderName;
    }

    /// <summary>Records one LLM call.</summary>
    public void Record(in GenAiCall call)
    {
        var tags = new TagList
        {
            { "gen_ai.operation.name", call.Operation },
            { "gen_ai.provider.name", _provider },
        };
        if (call.RequestModel is { Length: > 0 } requestModel)
        {
            tags.Add("gen_ai.request.model", Bounded(_models, requestModel));
        }

        if (call.ResponseModel is { Length: > 0 } responseModel)
        {
            tags.Add("gen_ai.response.model", Bounded(_models, responseModel));
        }

        if (call.ErrorType is { } errorType)
        {
            tags.Add("error.type", Bounded(_errorTypes, errorType));
            _requestDuration.Record(call.DurationSeconds, tags);
            return;
        }

        _requestDuration.Record(call.DurationSeconds, tags);
        if (call.TimeToFirstTokenSeconds is { } ttft)
        {
            _timeToFirstToken.Record(ttft, tags);
        }

        if (call.TimePerOutputTokenSeconds is { } tpot)
        {
            _timePerOutputToken.Record(tpot, tags);
        }

        if (call.InputTokens is { } input)
        {
            var inputTags = tags;
            inputTags.Add("gen_ai.token.type", "input");
            _tokenUsage.Record(input, inputTags);
        }

        if (call.OutputTokens is { } output)
        {
            var outputTags = tags;
            outputTags.Add("gen_ai.token.type", "output");
            _tokenUsage.Record(output, outputTags);
        }

        if (call.FinishReasons is { } reasons)
        {
            var model = Bounded(_models, call.RequestModel ?? call.ResponseModel ?? string.Empty);
            foreach (var reason in reasons)
            {
                _finishReasons.Add(1, new TagList
                {
                    { "gen_ai.operation.name", call.Operation },
                    { "gen_ai.request.model", model },
                    { "finish_reason", Bounded(_reasons, reason) },
                });
            }
        }
    }

    private static string Bounded(BoundedSeriesMap<string, string> map, string value) => map.Get(value) ?? LabelNames.Overflow;
}

/// <summary>What one LLM call measured; null where it could not be measured.</summary>
internal readonly record struct GenAiCall(
    string Operation,
    string? RequestModel,
    string? ResponseModel,
    double DurationSeconds,
    string? ErrorType,
    double? TimeToFirstTokenSeconds,
    double? TimePerOutputTokenSeconds,
    long? InputTokens,
    long? OutputTokens,
    IReadOnlyList<string>? FinishReasons);

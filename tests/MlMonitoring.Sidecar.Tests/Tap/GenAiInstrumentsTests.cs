using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Tap;
using MlMonitoring.Sidecar.Tests.Infrastructure;

namespace MlMonitoring.Sidecar.Tests.Tap;

/// <summary>Label values the GenAI instruments take from traffic pass the cardinality limits.</summary>
public sealed class GenAiInstrumentsTests : IDisposable
{
    private readonly TestMeterFactory _meters = new();

    public void Dispose() => _meters.Dispose();

    [Fact]
    public void Model_names_and_finish_reasons_past_their_limits_are_folded_into_other()
    {
        var options = Options.Create(new MonitoringOptions { Limits = new CardinalityLimits { MaxModels = 1, MaxClassesPerModel = 2 } });
        var instruments = new GenAiInstruments(_meters, options, Options.Create(new TapOptions()), new SidecarMetrics(_meters, options), new TimeToFirstTokenBoundaries());
        var models = new List<string>();
        var reasons = new List<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (_meters.Meters.Contains(instrument.Meter) && instrument.Name is "gen_ai.server.request.duration" or "ml_llm_finish_reasons")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, _, tags, _) =>
            models.Add((string)tags.ToArray().Single(t => t.Key == "gen_ai.request.model").Value!));
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
            reasons.Add((string)tags.ToArray().Single(t => t.Key == "finish_reason").Value!));
        listener.Start();

        foreach (var (model, reason) in new[] { ("llama", "stop"), ("mistral", "length"), ("llama", "tool_calls"), ("llama", "stop") })
        {
            instruments.Record(new GenAiCall("chat", model, model, 0.1, null, null, null, null, null, [reason]));
        }

        Assert.Equal(["llama", LabelNames.Overflow, "llama", "llama"], models);
        Assert.Equal(["stop", "length", LabelNames.Overflow, "stop"], reasons);
    }
}

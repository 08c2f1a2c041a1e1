using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using MlMonitoring.Sidecar.Tests.Infrastructure;
using MlMonitoring.V1;
using Label = MlMonitoring.V1.GroundTruth;

namespace MlMonitoring.Sidecar.Tests.Core;

/// <summary>
/// The instruments of what a sidecar may never be given (labels, drift, SLOs) are published with the first use of it,
/// not at start: the OpenTelemetry SDK reserves each published instrument's series storage at once.
/// </summary>
public sealed class DeferredInstrumentsTests
{
    [Fact]
    public async Task Drift_gauges_come_with_the_first_event_label_counters_and_quality_gauges_with_the_first_label_and_no_slo_gauges_without_an_slo_file()
    {
        await using var sidecar = new SidecarFactory();
        var client = sidecar.CreateMonitorClient();
        var meters = sidecar.Services.GetRequiredService<IMeterFactory>();

        var atStart = Published(meters);
        Assert.Contains("ml_sidecar_events_received", atStart);
        Assert.DoesNotContain("ml_ground_truth", atStart);
        Assert.DoesNotContain("ml_ground_truth_pending", atStart);
        Assert.DoesNotContain("ml_prediction_drift", atStart);
        Assert.DoesNotContain("ml_model_accuracy", atStart);
        Assert.DoesNotContain("ml_slo_objective", atStart);

        var prediction = Events.Classified("animals", "v1", "cat", 0.8);
        prediction.PredictionId = "a-1";
        await client.RecordPredictionAsync(prediction);
        var afterEvent = Published(meters);
        Assert.Contains("ml_prediction_drift", afterEvent);
        Assert.Contains("ml_feature_window_bucket", afterEvent);
        Assert.DoesNotContain("ml_model_accuracy", afterEvent);

        var labels = new GroundTruthBatch();
        labels.Labels.Add(new Label { PredictionId = "a-1", ActualClass = "cat" });
        await client.RecordGroundTruthAsync(labels);
        var afterLabel = Published(meters);
        Assert.Contains("ml_model_accuracy", afterLabel);
        Assert.Contains("ml_ground_truth", afterLabel);
        Assert.Contains("ml_ground_truth_pending", afterLabel);
        Assert.Contains("ml_ground_truth_window_labels", afterLabel);
        Assert.DoesNotContain("ml_slo_objective", afterLabel);

        // Published late, the gauges are read like any other: the label's accuracy is on /metrics.
        var metrics = await sidecar.ScrapeAsync();
        Assert.Equal(1, metrics.Value("ml_model_accuracy", ("model_name", "animals"), ("model_version", "v1")));
        Assert.Equal(1, metrics.Value("ml_ground_truth_correct_total", ("model_name", "animals"), ("model_version", "v1")));
    }

    /// <summary>The names of the instruments published so far by the sidecar's own meters (not other tests' hosts).</summary>
    private static HashSet<string> Published(IMeterFactory meters)
    {
        var names = new HashSet<string>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, meters))
                {
                    names.Add(instrument.Name);
                }
            },
        };
        listener.Start();
        return names;
    }
}

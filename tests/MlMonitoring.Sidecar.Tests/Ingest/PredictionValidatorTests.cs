using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Ingest;
using MlMonitoring.Sidecar.Tests.Infrastructure;
using MlMonitoring.V1;

namespace MlMonitoring.Sidecar.Tests.Ingest;

public sealed class PredictionValidatorTests
{
    private readonly PredictionValidator _validator = new(new CardinalityLimits { MaxNameLength = 16, MaxMapEntries = 3 });

    [Fact]
    public void A_complete_classification_is_valid()
    {
        var e = Events.Classified("fraud", "v1", "legit", 0.93);
        e.Features["amount"] = 12.5;
        e.CategoricalFeatures["country"] = "DE";
        e.Classification.ClassScores["legit"] = 0.93;

        Assert.Null(_validator.Validate(e));
    }

    [Fact]
    public void A_missing_model_name_is_refused_naming_the_field()
    {
        var violation = _validator.Validate(Events.Classified("", "v1", "a", 0.9));

        Assert.Equal("model_name", violation?.Field);
        Assert.Equal("model_name: required", violation?.Reason);
    }

    [Fact]
    public void A_model_name_of_129_characters_is_refused_and_128_accepted()
    {
        Assert.Null(_validator.Validate(Events.Classified(new string('m', 128), "v1", "a", 0.9)));
        Assert.Equal("model_name", _validator.Validate(Events.Classified(new string('m', 129), "v1", "a", 0.9))?.Field);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    [InlineData(-0.001)]
    public void A_latency_that_is_not_finite_and_non_negative_is_refused(double latency)
    {
        var violation = _validator.Validate(Events.Classified("m", "v1", "a", 0.9, latency));

        Assert.Equal("latency_seconds", violation?.Field);
        Assert.StartsWith("latency_seconds: must be finite and >= 0", violation?.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(1.0000001)]
    [InlineData(-0.1)]
    [InlineData(double.PositiveInfinity)]
    public void A_confidence_outside_zero_to_one_is_refused(double confidence)
    {
        Assert.Equal("classification.confidence", _validator.Validate(Events.Classified("m", "v1", "a", confidence))?.Field);
    }

    [Fact]
    public void A_class_score_outside_zero_to_one_is_refused_naming_the_class()
    {
        var e = Events.Classified("m", "v1", "a", null);
        e.Classification.ClassScores["a"] = 0.7;
        e.Classification.ClassScores["b"] = double.NaN;

        var violation = _validator.Validate(e);

        Assert.Equal("classification.class_scores", violation?.Field);
        Assert.Contains("class_scores[\"b\"]", violation?.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_classification_without_class_or_scores_is_refused()
    {
        Assert.Equal("classification.predicted_class", _validator.Validate(Events.Classified("m", "v1", "", 0.8))?.Field);
    }

    [Fact]
    public void A_regression_value_that_is_not_finite_is_refused()
    {
        Assert.Equal("regression.predicted_value", _validator.Validate(Events.Regressed("m", "v1", double.NaN))?.Field);
    }

    [Fact]
    public void A_nan_feature_is_a_missing_value_not_an_error()
    {
        var e = Events.Classified("m", "v1", "a", 0.9);
        e.Features["income"] = double.NaN;

        Assert.Null(_validator.Validate(e));
    }

    [Fact]
    public void An_infinite_feature_is_refused_naming_the_feature()
    {
        var e = Events.Classified("m", "v1", "a", 0.9);
        e.Features["income"] = double.NegativeInfinity;

        var violation = _validator.Validate(e);

        Assert.Equal("features", violation?.Field);
        Assert.Contains("features[\"income\"]", violation?.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Maps_over_the_entry_limit_are_refused()
    {
        var e = Events.Classified("m", "v1", "a", 0.9);
        for (var i = 0; i < 4; i++)
        {
            e.CategoricalFeatures[$"f{i}"] = "x";
        }

        Assert.Equal("categorical_features", _validator.Validate(e)?.Field);
    }

    [Fact]
    public void Names_over_the_length_limit_are_refused()
    {
        Assert.Equal("model_version", _validator.Validate(Events.Classified("m", new string('v', 17), "a", 0.9))?.Field);
        Assert.Equal("classification.predicted_class", _validator.Validate(Events.Classified("m", "v", new string('c', 17), 0.9))?.Field);
        Assert.Equal("error.error_type", _validator.Validate(Events.Failed("m", "v", new string('e', 17)))?.Field);
    }

    [Fact]
    public void An_unknown_error_kind_is_refused()
    {
        Assert.Equal("error.kind", _validator.Validate(Events.Failed("m", "v", "Boom", (ErrorKind)42))?.Field);
    }

    [Fact]
    public void A_timestamp_with_out_of_range_nanos_is_refused()
    {
        var e = Events.Classified("m", "v1", "a", 0.9);
        e.Time = new Google.Protobuf.WellKnownTypes.Timestamp { Seconds = 1, Nanos = 1_000_000_000 };

        Assert.Equal("time", _validator.Validate(e)?.Field);
    }
}

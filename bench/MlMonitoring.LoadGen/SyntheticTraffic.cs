using MlMonitoring.V1;

namespace MlMonitoring.LoadGen;

/// <summary>
/// Realistic synthetic prediction events: three models (two classifiers, one regressor) in four versions,
/// skewed classes with confident and unsure predictions, numeric and categorical features with a few missing
/// values, and a few percent of failed predictions. Seeded, so two runs send the same traffic.
/// </summary>
internal static class SyntheticTraffic
{
    private static readonly string[] Countries = ["DE", "FR", "US", "GB", "IN", "BR", "JP"];
    private static readonly string[] Plans = ["free", "pro", "enterprise"];

    /// <summary>A pool of events to send in turn; building events is kept out of the measured loop.</summary>
    public static PredictionEvent[] Generate(int count, int seed = 42)
    {
        var random = new Random(seed);
        var events = new PredictionEvent[count];
        for (var i = 0; i < count; i++)
        {
            events[i] = Next(random, i);
        }

        return events;
    }

    private static PredictionEvent Next(Random random, int sequence)
    {
        var pick = random.NextDouble();
        var e = pick switch
        {
            < 0.35 => Fraud(random, "v1"),
            < 0.55 => Fraud(random, "v2"),
            < 0.85 => Churn(random),
            _ => Price(random),
        };
        e.PredictionId = $"{e.ModelName}-{sequence:D9}";
        if (random.NextDouble() < 0.03)
        {
            // A failed prediction keeps its latency and inputs, loses its result.
            var timeout = random.NextDouble() < 0.3;
            e.Error = new PredictionError
            {
                ErrorType = timeout ? "TimeoutError" : random.NextDouble() < 0.5 ? "ValueError" : "RuntimeError",
                Kind = timeout ? ErrorKind.Timeout : ErrorKind.Server,
            };
            e.LatencySeconds = timeout ? 1.0 + random.NextDouble() : e.LatencySeconds;
        }

        return e;
    }

    private static PredictionEvent Fraud(Random random, string version)
    {
        // 4% fraud; the newer version is a little more sure of itself.
        var isFraud = random.NextDouble() < 0.04;
        var sharpness = version == "v2" ? 6 : 4;
        var e = new PredictionEvent
        {
            ModelName = "fraud-detector",
            ModelVersion = version,
            LatencySeconds = LogNormal(random, Math.Log(0.018), 0.5),
            Classification = new Classification
            {
                PredictedClass = isFraud ? "fraud" : "legit",
                Confidence = Confidence(random, sharpness),
            },
        };
        e.Features["amount"] = Math.Round(LogNormal(random, Math.Log(60), 1.1), 2);
        e.Features["account_age_days"] = random.NextDouble() < 0.01 ? double.NaN : Math.Floor(random.NextDouble() * 3650);
        e.Features["transactions_24h"] = Math.Floor(LogNormal(random, Math.Log(3), 0.8));
        e.CategoricalFeatures["country"] = Countries[(int)Math.Min(Countries.Length - 1, Math.Floor(-Math.Log(random.NextDouble()) * 1.5))];
        return e;
    }

    private static PredictionEvent Churn(Random random)
    {
        var leave = random.NextDouble() < 0.2;
        var confidence = Confidence(random, 2.5);
        var e = new PredictionEvent
        {
            ModelName = "churn-predictor",
            ModelVersion = "v3",
            LatencySeconds = LogNormal(random, Math.Log(0.045), 0.6),
            Classification = new Classification { PredictedClass = leave ? "leave" : "stay" },
        };
        e.Classification.ClassScores["leave"] = leave ? confidence : 1 - confidence;
        e.Classification.ClassScores["stay"] = leave ? 1 - confidence : confidence;
        e.Features["tenure_months"] = Math.Floor(random.NextDouble() * 72);
        e.Features["monthly_charges"] = Math.Round(20 + (random.NextDouble() * 100), 2);
        e.CategoricalFeatures["plan"] = Plans[random.Next(Plans.Length)];
        return e;
    }

    private static PredictionEvent Price(Random random)
    {
        var e = new PredictionEvent
        {
            ModelName = "price-estimator",
            ModelVersion = "v1",
            LatencySeconds = LogNormal(random, Math.Log(0.008), 0.4),
            Regression = new Regression { PredictedValue = Math.Round(LogNormal(random, Math.Log(250), 0.7), 2) },
        };
        e.Features["square_meters"] = Math.Round(30 + (random.NextDouble() * 150), 1);
        e.Features["rooms"] = 1 + random.Next(6);
        return e;
    }

    /// <summary>A top-class confidence in [0.5, 1): mostly high, with a tail of unsure predictions.</summary>
    private static double Confidence(Random random, double sharpness) =>
        Math.Min(0.9999, 0.5 + (0.5 * (1 - Math.Pow(random.NextDouble(), sharpness))));

    private static double LogNormal(Random random, double mu, double sigma)
    {
        // Box–Muller.
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        var normal = Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        return Math.Exp(mu + (sigma * normal));
    }
}

"""The MonitoredPredictor is a drop-in for the "ML Monitoring" guide's: on the same dict-taking model and the same
inputs, bad ones included, it returns and raises what the guide's predictor does, and the sidecar's series equal
the ones the guide's metric calls produce in-process with prometheus_client."""

import math
import time
import unittest
from contextlib import contextmanager

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Histogram
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from mlmonitoring import MonitoredPredictor, MonitoringClient
from sidecar import SidecarTestCase

CONFIDENCE_BUCKETS = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99]


class GuidePredictor:
    """The guide's instrumented predictor, its metric calls as the guide makes them, on a registry of its own."""

    def __init__(self, model, model_name, model_version):
        self.model = model
        self.model_name = model_name
        self.model_version = model_version
        self.registry = CollectorRegistry()
        self.requests = Counter("ml_prediction_requests_total", "Total prediction requests",
                                ["model_name", "model_version"], registry=self.registry)
        self.latency = Histogram("ml_prediction_latency_seconds", "Prediction latency", ["model_name"],
                                 buckets=[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5], registry=self.registry)
        self.errors = Counter("ml_prediction_errors_total", "Total prediction errors", ["model_name", "error_type"],
                              registry=self.registry)
        self.confidence = Histogram("ml_prediction_confidence", "Model confidence scores",
                                    ["model_name", "predicted_class"], buckets=CONFIDENCE_BUCKETS,
                                    registry=self.registry)
        self.classes = Counter("ml_prediction_class_total", "Predictions by class", ["model_name", "predicted_class"],
                               registry=self.registry)

    @contextmanager
    def track_latency(self):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.latency.labels(model_name=self.model_name).observe(time.perf_counter() - start)

    def predict(self, features):
        self.requests.labels(model_name=self.model_name, model_version=self.model_version).inc()
        try:
            with self.track_latency():
                prediction = self.model.predict([features])
                confidence = self.model.predict_proba([features])
            predicted_class = str(prediction[0])
            self.classes.labels(model_name=self.model_name, predicted_class=predicted_class).inc()
            max_confidence = float(max(confidence[0]))
            self.confidence.labels(model_name=self.model_name, predicted_class=predicted_class).observe(max_confidence)
            return {"prediction": predicted_class, "confidence": max_confidence}
        except Exception as e:
            self.errors.labels(model_name=self.model_name, error_type=type(e).__name__).inc()
            raise

    def value(self, name, **labels):
        return self.registry.get_sample_value(name, labels) or 0.0


def dict_taking_pipeline():
    """A scikit-learn pipeline that takes dicts of named features, as the guide's predictor passes them."""
    rng = np.random.default_rng(7)
    rows = [{"amount": float(a), "age": float(b), "channel": "web" if c > 0 else "app"}
            for a, b, c in rng.normal(size=(400, 3))]
    labels = ["fraud" if r["amount"] + 0.5 * r["age"] > 0.4 else "legit" for r in rows]
    return make_pipeline(DictVectorizer(sparse=False), LogisticRegression()).fit(rows, labels)


def inputs():
    """Good dicts in different key orders and with keys missing, and bad inputs of several kinds."""
    rng = np.random.default_rng(11)
    out = []
    for i, (a, b) in enumerate(rng.normal(size=(300, 2)) * 1.5):
        if i % 3 == 0:
            out.append({"age": float(b), "channel": "web", "amount": float(a)})
        elif i % 3 == 1:
            out.append({"amount": float(a), "age": float(b)})
        else:
            out.append({"channel": "app", "amount": float(a)})
        if i % 25 == 0:
            out.append([float(a), float(b)])           # AttributeError: not a dict
        if i % 40 == 0:
            out.append({"amount": None, "age": 1.0})    # ValueError: NaN after vectorizing
        if i % 60 == 0:
            out.append({"amount": [1, 2]})              # TypeError: unsupported value
    return out


class GuideParityTest(SidecarTestCase):
    def test_on_a_dict_taking_pipeline_the_sidecar_series_equal_the_guides(self):
        model = dict_taking_pipeline()
        guide = GuidePredictor(model, "parity", "v1")
        outcomes = {"guide": [], "ours": []}
        with MonitoringClient(self.sidecar.target) as client:
            ours = MonitoredPredictor(model, "parity", "v1", client)
            for features in inputs():
                for name, predictor in (("guide", guide), ("ours", ours)):
                    try:
                        outcomes[name].append(predictor.predict(features))
                    except Exception as e:  # noqa: BLE001 - both must raise the same
                        outcomes[name].append(type(e).__name__)
            self.assertTrue(client.flush(30))
            self.assertEqual((0, 0), (client.rejected, client.dropped))

        self.assertEqual(outcomes["guide"], outcomes["ours"])
        errors = [o for o in outcomes["guide"] if isinstance(o, str)]
        self.assertEqual({"AttributeError", "ValueError", "TypeError"}, set(errors))
        classes = {o["prediction"] for o in outcomes["guide"] if isinstance(o, dict)}
        self.assertEqual({"fraud", "legit"}, classes)

        sidecar = self.sidecar.metric_sum
        model_labels = dict(model_name="parity")
        self.assertEqual(guide.value("ml_prediction_requests_total", model_name="parity", model_version="v1"),
                         sidecar("ml_prediction_requests_total", model_version="v1", **model_labels))
        self.assertEqual(len(outcomes["guide"]), sidecar("ml_prediction_requests_total", **model_labels))
        self.assertEqual(guide.value("ml_prediction_latency_seconds_count", **model_labels),
                         sidecar("ml_prediction_latency_seconds_count", **model_labels))
        for error_type in sorted(set(errors)):
            self.assertEqual(guide.value("ml_prediction_errors_total", error_type=error_type, **model_labels),
                             sidecar("ml_prediction_errors_total", error_type=error_type, **model_labels), error_type)
        for predicted_class in sorted(classes):
            labels = dict(predicted_class=predicted_class, **model_labels)
            self.assertEqual(guide.value("ml_prediction_class_total", **labels),
                             sidecar("ml_prediction_class_total", **labels), predicted_class)
            for bound in CONFIDENCE_BUCKETS + [math.inf]:
                le = "+Inf" if bound == math.inf else str(bound)
                self.assertEqual(guide.value("ml_prediction_confidence_bucket", le=le, **labels),
                                 sidecar("ml_prediction_confidence_bucket", le=le, **labels), (predicted_class, le))
            self.assertEqual(guide.value("ml_prediction_confidence_count", **labels),
                             sidecar("ml_prediction_confidence_count", **labels))
            self.assertAlmostEqual(guide.value("ml_prediction_confidence_sum", **labels),
                                   sidecar("ml_prediction_confidence_sum", **labels), delta=1e-9)

    def test_named_features_are_recorded_from_a_dict_by_name_whatever_its_order(self):
        class TakesAnything:
            """A model that tolerates missing values (None), as a tree ensemble with imputation would."""
            classes_ = ["x"]

            def predict(self, rows):
                return ["x" for _ in rows]

            def predict_proba(self, rows):
                return [[1.0] for _ in rows]

        with MonitoringClient(self.sidecar.target) as client:
            predictor = MonitoredPredictor(TakesAnything(), "named", "v1", client)
            predictor.predict({"age": 2.0, "channel": "web", "amount": 10.0})
            predictor.predict({"amount": 20.0, "age": None, "channel": "app"})
            self.assertTrue(client.flush(10))
        labels = dict(model_name="named", model_version="v1")
        self.assertEqual(15.0, self.sidecar.metric("ml_feature_value", feature_name="amount", statistic="mean", **labels))
        self.assertEqual(2.0, self.sidecar.metric("ml_feature_value", feature_name="age", statistic="mean", **labels))
        self.assertEqual(1, self.sidecar.metric("ml_feature_missing_total", feature_name="age", **labels))
        self.assertEqual(1, self.sidecar.metric("ml_feature_category_total", feature_name="channel", category="app", **labels))

    def test_feature_names_turn_a_dict_into_a_row_by_name_for_a_model_that_takes_rows(self):
        x = np.array([[0.0, 1.0], [1.0, 0.0], [0.1, 0.9], [0.9, 0.2]])
        model = LogisticRegression().fit(x, ["no", "yes", "no", "yes"])
        with MonitoringClient(self.sidecar.target) as client:
            predictor = MonitoredPredictor(model, "rows", "v1", client, feature_names=["a", "b"])
            # Built in the other order: the row is still [a, b].
            by_name = predictor.predict({"b": 0.1, "a": 0.95})
            as_row = predictor.predict([0.95, 0.1])
            with self.assertRaises(KeyError):
                predictor.predict({"a": 0.95})
            self.assertTrue(client.flush(10))
        expected = float(max(model.predict_proba([[0.95, 0.1]])[0]))
        self.assertEqual({"prediction": "yes", "confidence": expected}, by_name)
        self.assertEqual(by_name, as_row)
        labels = dict(model_name="rows", model_version="v1")
        self.assertEqual(0.95, self.sidecar.metric("ml_feature_value", feature_name="a", statistic="mean", **labels))
        self.assertEqual(1, self.sidecar.metric("ml_prediction_errors_total", error_type="KeyError", error_kind="server", **labels))


if __name__ == "__main__":
    unittest.main()

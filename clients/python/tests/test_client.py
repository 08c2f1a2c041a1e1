"""The client against the real sidecar: delivery, labels, the monitored predictor, and failing open."""

import time
import unittest

import numpy as np
from sklearn.linear_model import LogisticRegression

from mlmonitoring import MonitoredPredictor, MonitoringClient
from sidecar import Sidecar, SidecarTestCase, free_port


class DeliveryTest(SidecarTestCase):
    def test_every_event_of_a_100000_prediction_run_arrives(self):
        with MonitoringClient(self.sidecar.target) as client:
            for i in range(100_000):
                client.record_prediction("bulk", "v1", 0.012, predicted_class="legit" if i % 10 else "fraud",
                                         confidence=0.93)
            self.assertTrue(client.flush(60))
            self.assertEqual((100_000, 0, 0), (client.sent, client.rejected, client.dropped))
        self.assertEqual(100_000, self.sidecar.metric("ml_prediction_requests_total", model_name="bulk", model_version="v1"))
        self.assertEqual(10_000, self.sidecar.metric("ml_prediction_class_total", model_name="bulk", model_version="v1",
                                                     predicted_class="fraud"))

    def test_errors_regressions_features_and_labels_arrive(self):
        with MonitoringClient(self.sidecar.target) as client:
            client.record_prediction("mixed", "v2", 0.02, class_scores={"a": 0.2, "b": 0.8}, prediction_id="m-1",
                                     features={"amount": 10.0, "age": float("nan")}, categorical_features={"country": "FR"})
            client.record_prediction("mixed-reg", "v1", 0.01, predicted_value=4.5, prediction_id="r-1")
            client.record_error("mixed", "v2", 0.5, "TimeoutError", kind="timeout")
            self.assertTrue(client.flush(10))
            client.record_ground_truth("m-1", actual_class="b")
            client.record_ground_truth("r-1", actual_value=5.0)
            self.assertTrue(client.flush(10))
            self.assertEqual(2, client.labels_sent)
        labels = dict(model_name="mixed", model_version="v2")
        self.assertEqual(2, self.sidecar.metric("ml_prediction_requests_total", **labels))
        self.assertEqual(1, self.sidecar.metric("ml_prediction_class_total", predicted_class="b", **labels))
        self.assertEqual(1, self.sidecar.metric("ml_prediction_errors_total", error_type="TimeoutError", error_kind="timeout", **labels))
        self.assertEqual(1, self.sidecar.metric("ml_feature_missing_total", feature_name="age", **labels))
        self.assertEqual(1, self.sidecar.metric("ml_feature_category_total", feature_name="country", category="FR", **labels))
        self.assertEqual(1, self.sidecar.metric("ml_model_accuracy", **labels))
        self.assertEqual(0.5, self.sidecar.metric("ml_model_mae", model_name="mixed-reg", model_version="v1"))

    def test_the_monitored_predictor_records_result_confidence_and_exceptions(self):
        x = np.array([[0.0, 1.0], [1.0, 0.0], [0.1, 0.9], [0.9, 0.2]])
        model = LogisticRegression().fit(x, ["no", "yes", "no", "yes"])
        with MonitoringClient(self.sidecar.target) as client:
            predictor = MonitoredPredictor(model, "sk", "v1", client, feature_names=["a", "b"])
            result = predictor.predict({"a": 0.95, "b": 0.1})
            with self.assertRaises(ValueError):
                predictor.predict({"a": "not a number", "b": 0.1})
            self.assertTrue(client.flush(10))
        self.assertEqual("yes", result["prediction"])
        self.assertAlmostEqual(float(max(model.predict_proba([[0.95, 0.1]])[0])), result["confidence"])
        labels = dict(model_name="sk", model_version="v1")
        self.assertEqual(2, self.sidecar.metric("ml_prediction_requests_total", **labels))
        self.assertEqual(1, self.sidecar.metric("ml_prediction_class_total", predicted_class="yes", **labels))
        self.assertEqual(1, self.sidecar.metric("ml_prediction_errors_total", error_type="ValueError", error_kind="server", **labels))
        self.assertEqual(result["confidence"], self.sidecar.metric("ml_prediction_confidence_sum", predicted_class="yes", **labels))


class ApiTest(unittest.TestCase):
    def test_stats_reads_every_counter_at_once_and_the_counters_are_read_only(self):
        with Sidecar() as sidecar:
            with MonitoringClient(sidecar.target, flush_interval=0.05) as client:
                client.record_prediction("api", "v1", 0.01, predicted_class="a", confidence=0.9, prediction_id="api-1")
                client.record_prediction("", "v1", 0.01, predicted_class="a", confidence=0.9)  # no model name: invalid
                client.record_ground_truth("api-1", actual_class="a")
                self.assertTrue(client.flush(10))
                stats = client.stats()
                self.assertEqual((1, 1, 0, 1, 0, 0), (stats.sent, stats.rejected, stats.dropped, stats.labels_sent,
                                                      stats.labels_rejected, stats.pending))
                self.assertEqual(stats.sent, client.sent)
                with self.assertRaises(AttributeError):
                    client.sent = 5
                with self.assertRaises(TypeError):
                    client.record_prediction("api", "v1", 0.01, "a")  # the class is a keyword argument

    def test_the_package_says_its_version(self):
        import mlmonitoring
        self.assertRegex(mlmonitoring.__version__, r"^\d+\.\d+\.\d+$")


class FailOpenTest(unittest.TestCase):
    def test_without_a_sidecar_events_are_buffered_then_dropped_and_delivery_resumes_when_it_returns(self):
        port = free_port()
        client = MonitoringClient(f"127.0.0.1:{port}", capacity=100)
        try:
            for i in range(250):
                client.record_prediction("offline", "v1", 0.01, predicted_class="a", confidence=0.9)
            # Nothing is listening: the calls returned, the buffer kept the newest 100, the rest are counted (once
            # the sender, which may hold a batch taken before the first refusal, has put it back).
            deadline = time.monotonic() + 10
            while client.dropped != 150 and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertEqual((150, 100), (client.dropped, client.pending))
            self.assertFalse(client.flush(0.5))
            self.assertEqual(0, client.sent)

            with Sidecar(grpc_port=port) as sidecar:
                self.assertTrue(client.flush(30))
                self.assertEqual(100, client.sent)
                self.assertEqual(100, sidecar.metric("ml_prediction_requests_total", model_name="offline", model_version="v1"))

            # Restarting: events recorded while it is down wait, then arrive at the new instance.
            for i in range(40):
                client.record_prediction("offline", "v1", 0.01, predicted_class="a", confidence=0.9)
            with Sidecar(grpc_port=port) as restarted:
                self.assertTrue(client.flush(30))
                self.assertEqual(40, restarted.metric("ml_prediction_requests_total", model_name="offline", model_version="v1"))
            self.assertEqual(150, client.dropped)
        finally:
            client.close(timeout=0.5)


if __name__ == "__main__":
    unittest.main()

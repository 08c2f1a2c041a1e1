"""Labels and outcomes the sidecar refuses as retryable are sent again until they join, against a real sidecar
whose shared store (a real redis-server) goes away and comes back."""

import unittest

from mlmonitoring import MonitoringClient
from redis_server import RedisServer
from sidecar import Sidecar


def redis_sidecar(redis):
    """A sidecar whose shared store is the redis-server the test takes away."""
    env = {
        "Monitoring__SharedState__Store": "redis",
        "Monitoring__SharedState__RedisConfiguration": redis.configuration,
    }
    return Sidecar(env=env, expected_logs=["Shared-state store"])


class ResendTest(unittest.TestCase):
    def test_labels_and_outcomes_refused_while_the_store_is_down_are_sent_again_and_join_when_it_is_back(self):
        with RedisServer() as redis:
            with redis_sidecar(redis) as sidecar:
                client = MonitoringClient(sidecar.target, flush_interval=0.05)
                try:
                    client.record_prediction("resend", "v1", 0.01, predicted_class="a", confidence=0.9,
                                             prediction_id="warm-up")
                    self.assertTrue(client.flush(10))
                    redis.stop()
                    # Queued in the sidecar while the store is away; the labels and outcomes are refused as
                    # retryable, so the client keeps them.
                    for i in range(50):
                        client.record_prediction("resend", "v1", 0.01, predicted_class="a", confidence=0.9,
                                                 prediction_id=f"r-{i}")
                        client.record_ground_truth(f"r-{i}", actual_class="a" if i % 5 else "b")
                        client.record_outcome("conversion", 1, prediction_id=f"r-{i}")
                    self.assertFalse(client.flush(3))
                    self.assertEqual(0, client.labels_sent)
                    self.assertGreater(client.pending, 0)

                    redis.start()  # empty, on the same port
                    self.assertTrue(client.flush(60))
                    self.assertEqual((50, 0, 0), (client.labels_sent, client.labels_rejected, client.labels_given_up))
                    self.assertEqual((50, 0, 0), (client.outcomes_sent, client.outcomes_rejected, client.outcomes_given_up))
                    labels = dict(model_name="resend", model_version="v1")
                    self.assertEqual(40, sidecar.wait_for("ml_ground_truth_total", 40, predicted_class="a", actual_class="a", **labels))
                    self.assertEqual(10, sidecar.wait_for("ml_ground_truth_total", 10, predicted_class="a", actual_class="b", **labels))
                    self.assertEqual(50, sidecar.wait_for("ml_business_outcomes_total", 50, kind="conversion", **labels))
                    self.assertEqual(0, sidecar.metric_sum("ml_ground_truth_unmatched_total"))
                finally:
                    client.close(1)

    def test_a_label_refused_as_retryable_past_retry_max_age_is_given_up_and_counted(self):
        with RedisServer() as redis:
            with redis_sidecar(redis) as sidecar:
                client = MonitoringClient(sidecar.target, flush_interval=0.05, retry_max_age=1.0)
                try:
                    redis.stop()
                    client.record_ground_truth("lost-1", actual_class="a")
                    client.record_ground_truth("lost-2", actual_value=1.5)
                    self.assertTrue(client.flush(30))
                    self.assertEqual((0, 0, 2), (client.labels_sent, client.labels_rejected, client.labels_given_up))
                    self.assertEqual(0, client.pending)
                finally:
                    client.close(1)

    def test_a_label_without_a_value_is_counted_rejected_without_raising_in_the_callers_thread(self):
        with Sidecar() as sidecar:
            with MonitoringClient(sidecar.target) as client:
                client.record_ground_truth("no-value")
                self.assertTrue(client.flush(10))
                self.assertEqual((0, 1), (client.labels_sent, client.labels_rejected))


if __name__ == "__main__":
    unittest.main()

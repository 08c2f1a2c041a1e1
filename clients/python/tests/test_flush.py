"""flush() through a slow link: it returns True only once the sidecar has answered for everything recorded before
it, predictions, labels and outcomes alike, and False while the answers are held."""

import unittest

from mlmonitoring import MonitoringClient
from gated_link import GatedLink
from sidecar import SidecarTestCase


class FlushTest(SidecarTestCase):
    def _connected_client(self, link, model):
        """A client whose connection is up and whose prediction p-1 is known to the sidecar, before the link slows."""
        client = MonitoringClient(link.target, flush_interval=0.05)
        client.record_prediction(model, "v1", 0.01, predicted_class="a", confidence=0.9, prediction_id=f"{model}-1")
        self.assertTrue(client.flush(10))
        return client

    def test_flush_waits_for_the_answer_to_a_label_already_taken_from_the_queue(self):
        with GatedLink(self.sidecar.grpc_port) as link:
            client = self._connected_client(link, "late-label")
            try:
                link.hold_answers()
                client.record_ground_truth("late-label-1", actual_class="a")
                # The sidecar has joined it: only its answer is on the way.
                self.assertEqual(1, self.sidecar.wait_for("ml_ground_truth_total", 1, model_name="late-label"))
                self.assertFalse(client.flush(0.5))
                self.assertEqual((0, 1), (client.labels_sent, client.pending))
                link.open()
                self.assertTrue(client.flush(10))
                self.assertEqual((1, 0, 0), (client.labels_sent, client.labels_rejected, client.pending))
            finally:
                client.close(1)

    def test_flush_waits_for_the_answers_to_predictions_and_outcomes(self):
        with GatedLink(self.sidecar.grpc_port) as link:
            client = self._connected_client(link, "late-all")
            try:
                link.hold_answers()
                client.record_prediction("late-all", "v1", 0.02, predicted_class="b", confidence=0.8)
                client.record_outcome("revenue", 12.5, prediction_id="late-all-1")
                client.flush(0)  # wakes the senders without waiting
                self.assertEqual(2, self.sidecar.wait_for("ml_prediction_requests_total", 2, model_name="late-all"))
                self.assertEqual(12.5, self.sidecar.wait_for("ml_business_value_total", 12.5, model_name="late-all"))
                self.assertFalse(client.flush(0.5))
                self.assertEqual((1, 0, 2), (client.sent, client.outcomes_sent, client.pending))
                link.open()
                self.assertTrue(client.flush(10))
                self.assertEqual((2, 1, 0), (client.sent, client.outcomes_sent, client.pending))
            finally:
                client.close(1)

    def test_labels_go_while_the_prediction_stream_waits_for_its_answers(self):
        with GatedLink(self.sidecar.grpc_port) as link:
            client = self._connected_client(link, "busy")
            try:
                link.hold_answers()
                for _ in range(3):
                    client.record_prediction("busy", "v1", 0.01, predicted_class="a", confidence=0.9)
                client.record_ground_truth("busy-1", actual_class="b")
                client.flush(0)
                self.assertEqual(4, self.sidecar.wait_for("ml_prediction_requests_total", 4, model_name="busy"))
                self.assertEqual(1, self.sidecar.wait_for("ml_ground_truth_total", 1, model_name="busy"))
            finally:
                link.open()
                self.assertTrue(client.flush(10))
                client.close(1)
            self.assertEqual((4, 1), (client.sent, client.labels_sent))

    def test_labels_and_outcomes_the_sidecar_refuses_settle_as_rejected(self):
        with MonitoringClient(self.sidecar.target, flush_interval=0.05) as client:
            client.record_ground_truth("", actual_class="a")
            client.record_outcome("", 1.0, model_name="refused")
            self.assertTrue(client.flush(10))
            self.assertEqual((0, 1, 0, 1, 0), (client.labels_sent, client.labels_rejected, client.outcomes_sent,
                                               client.outcomes_rejected, client.pending))


if __name__ == "__main__":
    unittest.main()

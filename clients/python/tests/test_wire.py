"""The hand-encoded events are valid PredictionBatch messages with the same content protobuf would send."""

import math
import unittest

from mlmonitoring._wire import EventEncoder
from mlmonitoring.v1 import monitoring_pb2 as pb


class WireEncodingTest(unittest.TestCase):
    def test_events_decode_to_what_protobuf_would_build(self):
        records = [
            (0, "fraud", "v1", 0.012, "legit", 0.93, None, None, None),
            (0, "fraud", "v1", 0.012, "legit", None, None, None, None),
            (0, "fraud", "", 0.5, 7, 1.0, "id-é", {"amount": 3.5, "age": float("nan")}, {"country": "DE"}),
            (1, "price", "v2", 0.01, 123.25, None, "p-1", {"rooms": 3}, None),
            (2, "fraud", "v1", 0.3, "TimeoutError", "timeout", None, None, None),
            (2, "fraud", "v1", 0.3, "", "unspecified", None, None, None),
        ]
        batch = pb.PredictionBatch.FromString(EventEncoder().batch(records))

        self.assertEqual(len(records), len(batch.events))
        first = batch.events[0]
        self.assertEqual(("fraud", "v1", 0.012, "legit", 0.93),
                         (first.model_name, first.model_version, first.latency_seconds,
                          first.classification.predicted_class, first.classification.confidence))
        self.assertFalse(batch.events[1].classification.HasField("confidence"))
        third = batch.events[2]
        self.assertEqual(("id-é", "7", 1.0, "DE"), (third.prediction_id, third.classification.predicted_class,
                                                    third.classification.confidence,
                                                    third.categorical_features["country"]))
        self.assertEqual(3.5, third.features["amount"])
        self.assertTrue(math.isnan(third.features["age"]))
        self.assertEqual(123.25, batch.events[3].regression.predicted_value)
        self.assertEqual(3.0, batch.events[3].features["rooms"])
        self.assertEqual(("TimeoutError", pb.ERROR_KIND_TIMEOUT),
                         (batch.events[4].error.error_type, batch.events[4].error.kind))
        self.assertEqual("error", batch.events[5].WhichOneof("result"))

    def test_general_path_is_byte_identical_to_protobuf(self):
        event = pb.PredictionEvent(model_name="m", model_version="v", latency_seconds=0.25, prediction_id="x1")
        event.classification.predicted_class = "c"
        event.classification.confidence = 0.5
        event.features["f"] = 2.0
        event.categorical_features["k"] = "v"

        encoded = EventEncoder().event((0, "m", "v", 0.25, "c", 0.5, "x1", {"f": 2.0}, {"k": "v"}))

        self.assertEqual(event.SerializeToString(), encoded)


if __name__ == "__main__":
    unittest.main()

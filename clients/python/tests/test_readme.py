"""The documentation's Python example (docs/sending-events.md), run as written against a real sidecar: the label and the outcome sent right after
the prediction join it (the prediction is still in the client's batch when they arrive)."""

import os
import re
import time
import unittest

import numpy as np
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from mlmonitoring import MonitoredPredictor, MonitoringClient
from sidecar import Sidecar

_README = os.path.join(os.path.dirname(__file__), "..", "..", "..", "docs", "sending-events.md")


def readme_python_example():
    """The page's first Python block that uses the client."""
    with open(_README, encoding="utf-8") as readme:
        text = readme.read()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    return next(block for block in blocks if "MonitoredPredictor(" in block and "record_ground_truth" in block)


class ReadmeExampleTest(unittest.TestCase):
    def test_the_readme_example_joins_its_label_and_outcome_every_time(self):
        rows = [{"amount": float(a), "age": float(g)} for a, g in zip(range(10, 200, 10), range(20, 58, 2))]
        model = make_pipeline(DictVectorizer(), LogisticRegression()).fit(rows, ["fraud" if r["amount"] > 100 else "legit" for r in rows])
        with Sidecar() as sidecar:
            for run in range(3):
                source = readme_python_example().replace("127.0.0.1:50051", sidecar.target).replace("tx-81", f"tx-81-{run}")
                namespace = {"model": model, "print": lambda *args: None}
                exec(compile(source, "docs/sending-events.md", "exec"), namespace)  # the block as a user would paste it
            labels = dict(model_name="fraud-detector", model_version="v3")
            self.assertEqual(3, sidecar.wait_for("ml_ground_truth_total", 3, timeout=20, **labels))
            self.assertEqual(3, sidecar.wait_for("ml_business_outcomes_total", 3, timeout=20, kind="revenue", **labels))
            self.assertEqual(0, sidecar.metric_sum("ml_ground_truth_unmatched_total"))
            self.assertEqual(0, sidecar.metric_sum("ml_business_outcomes_unattributed_total"))


class ClassNamesWithoutClassesTest(unittest.TestCase):
    def test_a_model_returning_class_names_without_classes_or_probabilities_is_recorded_as_a_class(self):
        class Labeller:
            def predict(self, rows):
                return np.array(["spam" if row["links"] > 3 else "ham" for row in rows])

        with Sidecar() as sidecar:
            with MonitoringClient(sidecar.target) as client:
                predictor = MonitoredPredictor(Labeller(), "mail", "v1", client)
                self.assertEqual({"prediction": "spam", "confidence": None}, predictor.predict({"links": 5}))
                self.assertEqual({"prediction": "ham", "confidence": None}, predictor.predict({"links": 0}))
                self.assertTrue(client.flush(10))
            labels = dict(model_name="mail", model_version="v1")
            self.assertEqual(1, sidecar.metric("ml_prediction_class_total", predicted_class="spam", **labels))
            self.assertEqual(1, sidecar.metric("ml_prediction_class_total", predicted_class="ham", **labels))


if __name__ == "__main__":
    unittest.main()

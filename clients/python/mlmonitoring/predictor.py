"""A monitored predictor for scikit-learn-style models, as in the "ML Monitoring" guide, with the metric calls
replaced by one event to the sidecar."""

import time


class MonitoredPredictor:
    """Wraps a model with predict and (optionally) predict_proba; times each prediction and records its result,
    confidence and exceptions (error_type is the exception's type name, as the guide's type(e).__name__).

    Args:
        model: the model; predict([features]) and, for confidences, predict_proba([features]).
        model_name, model_version: the labels of its series.
        client: a MonitoringClient.
        feature_names: the order of the model's inputs when predict takes a dict of named features.
    """

    def __init__(self, model, model_name, model_version, client, feature_names=None):
        self.model = model
        self.model_name = model_name
        self.model_version = model_version
        self.client = client
        self.feature_names = feature_names
        self._classes = [str(c) for c in getattr(model, "classes_", [])]
        self._has_proba = hasattr(model, "predict_proba")

    def predict(self, features, prediction_id=None):
        """Predicts for one input (a dict of named features, or a sequence in the model's order) and returns
        {"prediction": ..., "confidence": ...} like the guide's predictor."""
        named = features if isinstance(features, dict) else None
        start = time.perf_counter()
        try:
            # Inside the timed block, as in the guide: a bad input is a failed prediction, recorded as one.
            row = self._row(features)
            prediction = self.model.predict([row])
            probabilities = self.model.predict_proba([row]) if self._has_proba else None
        except Exception as error:
            self.client.record_error(self.model_name, self.model_version, time.perf_counter() - start,
                                     type(error).__name__)
            raise
        latency = time.perf_counter() - start
        predicted = prediction[0]
        if probabilities is not None:
            confidence = float(max(probabilities[0]))
            self.client.record_prediction(self.model_name, self.model_version, latency,
                                          predicted_class=str(predicted), confidence=confidence,
                                          prediction_id=prediction_id, features=named)
            return {"prediction": str(predicted), "confidence": confidence}
        if self._classes:
            self.client.record_prediction(self.model_name, self.model_version, latency,
                                          predicted_class=str(predicted), prediction_id=prediction_id,
                                          features=named)
            return {"prediction": str(predicted), "confidence": None}
        self.client.record_prediction(self.model_name, self.model_version, latency,
                                      predicted_value=float(predicted), prediction_id=prediction_id,
                                      features=named)
        return {"prediction": float(predicted), "confidence": None}

    def _row(self, features):
        if not isinstance(features, dict):
            return list(features)
        if self.feature_names:
            return [features[name] for name in self.feature_names]
        return list(features.values())

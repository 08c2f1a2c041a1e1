"""A monitored predictor for scikit-learn-style models, as in the "ML Monitoring" guide, with the metric calls
replaced by one event to the sidecar."""

import logging
import math
import numbers
import time

_log = logging.getLogger("mlmonitoring")


def _is_number(value):
    """Whether a model's output is a number (numpy's scalars included), not a class name or a flag."""
    if isinstance(value, (bool, str, bytes)) or type(value).__name__ == "bool_":
        return False
    if isinstance(value, numbers.Real):
        return True
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


class MonitoredPredictor:
    """Wraps a model with predict and (optionally) predict_proba, as the guide's predictor does: the caller's input
    goes to ``model.predict([features])`` unchanged; each prediction is timed and its result, confidence and
    exceptions are recorded (error_type is the exception's type name, as the guide's ``type(e).__name__``).

    Args:
        model: the model; predict([features]) and, for confidences, predict_proba([features]).
        model_name, model_version: the labels of its series.
        client: a MonitoringClient.
        feature_names: only for a model that takes rows rather than dicts: each dict input is turned into the row
            ``[features[name] for name in feature_names]`` before it reaches the model (a missing name is then a
            failed prediction, KeyError), and a sequence input is recorded under these names. Without it the model
            gets the input as given.
    """

    def __init__(self, model, model_name, model_version, client, feature_names=None):
        self.model = model
        self.model_name = model_name
        self.model_version = model_version
        self.client = client
        self.feature_names = list(feature_names) if feature_names is not None else None
        self._classes = [str(c) for c in getattr(model, "classes_", [])]
        self._has_proba = hasattr(model, "predict_proba")

    def predict(self, features, prediction_id=None):
        """Predicts for one input and returns {"prediction": ..., "confidence": ...} like the guide's predictor.

        A dict input's entries are recorded as features: numbers (None counts as missing) as numeric features,
        strings as categorical ones; other values are passed to the model but not recorded."""
        start = time.perf_counter()
        try:
            # Everything the guide does inside its try is inside this one: a bad input, or a result that cannot be
            # read, is a failed prediction, recorded as one and raised to the caller.
            model_input = self._model_input(features)
            prediction = self.model.predict([model_input])
            probabilities = self.model.predict_proba([model_input]) if self._has_proba else None
            latency = time.perf_counter() - start
            predicted = prediction[0]
            confidence = float(max(probabilities[0])) if probabilities is not None else None
        except Exception as error:
            self.client.record_error(self.model_name, self.model_version, time.perf_counter() - start,
                                     type(error).__name__)
            raise
        # A classifier has classes or probabilities; without either, a number is a regression's value and anything
        # else (a class name) a class.
        is_class = confidence is not None or self._classes or not _is_number(predicted)
        result = {"prediction": str(predicted) if is_class else float(predicted), "confidence": confidence}
        try:
            numeric, categorical = self._recorded_features(features)
            if is_class:
                self.client.record_prediction(self.model_name, self.model_version, latency,
                                              predicted_class=str(predicted), confidence=confidence,
                                              prediction_id=prediction_id, features=numeric,
                                              categorical_features=categorical)
            else:
                self.client.record_prediction(self.model_name, self.model_version, latency,
                                              predicted_value=float(predicted), prediction_id=prediction_id,
                                              features=numeric, categorical_features=categorical)
        except Exception:  # the model answered: monitoring never fails the prediction
            _log.exception("mlmonitoring could not record a prediction of %s", self.model_name)
        return result

    def _model_input(self, features):
        if self.feature_names is not None and isinstance(features, dict):
            return [features[name] for name in self.feature_names]
        return features

    def _recorded_features(self, features):
        if isinstance(features, dict):
            items = features.items()
        elif self.feature_names is not None and not isinstance(features, (str, bytes)):
            try:
                items = zip(self.feature_names, features)
            except TypeError:
                return None, None
        else:
            return None, None
        numeric, categorical = {}, {}
        for name, value in items:
            if not isinstance(name, str):
                continue
            if value is None:
                numeric[name] = math.nan
            elif isinstance(value, numbers.Real):
                numeric[name] = float(value)
            elif isinstance(value, str):
                categorical[name] = value
        return numeric or None, categorical or None

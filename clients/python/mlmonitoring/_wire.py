"""Protobuf wire encoding of prediction events from cached byte templates.

Building a protobuf message object per prediction costs more CPU than the in-process instrumentation the sidecar
replaces. The parts of an event that repeat — model, version, predicted class, error type, feature names — are
encoded once and cached; per event only the prediction id and the doubles (latency, confidence, feature values)
are packed. The bytes are those protobuf itself writes for the same event (the tests compare them).
"""

import struct

_pack_double = struct.Struct("<d").pack

# Field tags of mlmonitoring.v1.PredictionEvent (field number << 3 | wire type).
_TAG_PREDICTION_ID = b"\x0a"  # 1, length-delimited
_TAG_MODEL_NAME = b"\x12"  # 2
_TAG_MODEL_VERSION = b"\x1a"  # 3
_TAG_LATENCY = b"\x29"  # 5, fixed64
_TAG_CLASSIFICATION = b"\x32"  # 6
_TAG_REGRESSION = b"\x3a"  # 7
_TAG_ERROR = b"\x42"  # 8
_TAG_FEATURE = b"\x4a"  # 9, map entry
_TAG_CATEGORICAL = b"\x52"  # 10, map entry
_TAG_BATCH_EVENT = b"\x0a"  # PredictionBatch.events = 1

ERROR_KINDS = {"unspecified": 0, "timeout": 1, "server": 2, "invalid_input": 3}


def _varint(value):
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


# Lengths of events and fields are small: their varints are looked up, not computed.
_VARINTS = [_varint(i) for i in range(1 << 14)]


def varint(value):
    return _VARINTS[value] if value < 16384 else _varint(value)


def _string_field(tag, text):
    data = text.encode("utf-8")
    return tag + varint(len(data)) + data


class EventEncoder:
    """Encodes events; thread-confined to the client's sender thread, so its caches need no lock."""

    def __init__(self):
        self._framed = {}
        self._heads = {}
        self._classifications = {}
        self._errors = {}
        self._features = {}
        self._categories = {}

    def head(self, model_name, model_version):
        """model_name and model_version, encoded once per pair."""
        key = (model_name, model_version)
        head = self._heads.get(key)
        if head is None:
            head = _string_field(_TAG_MODEL_NAME, model_name)
            if model_version:
                head += _string_field(_TAG_MODEL_VERSION, model_version)
            self._heads[key] = head
        return head

    def classification(self, predicted_class, confidence):
        """The classification submessage; with a confidence its length is fixed, so the prefix is cached."""
        has_confidence = confidence is not None
        key = (predicted_class, has_confidence)
        prefix = self._classifications.get(key)
        if prefix is None:
            body = _string_field(b"\x0a", predicted_class) if predicted_class else b""
            length = len(body) + (9 if has_confidence else 0)
            prefix = _TAG_CLASSIFICATION + varint(length) + body
            self._classifications[key] = prefix
        return prefix + b"\x11" + _pack_double(confidence) if has_confidence else prefix

    def error(self, error_type, kind):
        key = (error_type, kind)
        encoded = self._errors.get(key)
        if encoded is None:
            body = _string_field(b"\x0a", error_type) if error_type else b""
            code = ERROR_KINDS.get(kind, 0) if isinstance(kind, str) else int(kind)
            if code:
                body += b"\x10" + varint(code)
            encoded = _TAG_ERROR + varint(len(body)) + body
            self._errors[key] = encoded
        return encoded

    def feature(self, name, value):
        prefix = self._features.get(name)
        if prefix is None:
            key = _string_field(b"\x0a", name)
            prefix = _TAG_FEATURE + varint(len(key) + 9) + key + b"\x11"
            self._features[name] = prefix
        return prefix + _pack_double(value)

    def category(self, name, value):
        key = (name, value)
        encoded = self._categories.get(key)
        if encoded is None:
            body = _string_field(b"\x0a", name) + _string_field(b"\x12", value)
            encoded = _TAG_CATEGORICAL + varint(len(body)) + body
            if len(self._categories) < 100_000:
                self._categories[key] = encoded
        return encoded

    def event(self, record):
        """One PredictionEvent from a queued record tuple (see MonitoringClient)."""
        (kind, model_name, model_version, latency, a, b, prediction_id, features, categorical) = record
        parts = []
        if prediction_id:
            parts.append(_string_field(_TAG_PREDICTION_ID, prediction_id))
        parts.append(self.head(model_name, model_version))
        if latency:
            parts.append(_TAG_LATENCY + _pack_double(latency))
        if kind == 0:
            parts.append(self.classification("" if a is None else str(a), None if b is None else float(b)))
        elif kind == 1:
            parts.append(_TAG_REGRESSION + b"\x09\x09" + _pack_double(a))
        elif kind == 2:
            parts.append(self.error(a, b))
        if features:
            feature = self.feature
            for name, value in features.items():
                parts.append(feature(name, float(value)))
        if categorical:
            category = self.category
            for name, value in categorical.items():
                parts.append(category(name, str(value)))
        return b"".join(parts)

    def framed_classification(self, model_name, model_version, predicted_class, has_confidence):
        """For the common event — a classification without id or features — a precompiled struct that writes the
        whole framed event (batch tag, length, fields) from the latency and confidence in one call."""
        key = (model_name, model_version, predicted_class, has_confidence)
        packer = self._framed.get(key)
        if packer is None:
            head = self.head(model_name, model_version) + _TAG_LATENCY
            classification = self.classification(predicted_class, 0.0 if has_confidence else None)
            body_length = len(head) + 8 + len(classification)
            frame = _TAG_BATCH_EVENT + varint(body_length) + head
            if has_confidence:
                middle = classification[:-8]
                fmt = struct.Struct(f"<{len(frame)}sd{len(middle)}sd")
                packer = (lambda f, m, p: lambda latency, confidence: p(f, latency, m, confidence))(frame, middle, fmt.pack)
            else:
                fmt = struct.Struct(f"<{len(frame)}sd{len(classification)}s")
                packer = (lambda f, c, p: lambda latency, confidence: p(f, latency, c))(frame, classification, fmt.pack)
            if len(self._framed) < 100_000:
                self._framed[key] = packer
        return packer

    def batch(self, records):
        """A serialized PredictionBatch."""
        parts = []
        append = parts.append
        event = self.event
        framed = self._framed
        for record in records:
            kind, model_name, model_version, latency, predicted_class, confidence, prediction_id, features, categorical = record
            if kind == 0 and not prediction_id and not features and not categorical and latency:
                key = (model_name, model_version, predicted_class, confidence is not None)
                packer = framed.get(key)
                if packer is None:
                    packer = self.framed_classification(
                        model_name, model_version, "" if predicted_class is None else str(predicted_class), confidence is not None)
                    framed[key] = packer
                append(packer(float(latency), 0.0 if confidence is None else float(confidence)))
                continue
            encoded = event(record)
            append(_TAG_BATCH_EVENT)
            append(varint(len(encoded)))
            append(encoded)
        return b"".join(parts)

"""A non-blocking client of the monitoring sidecar.

record_* calls only append a tuple to a bounded buffer; a background thread encodes batches (from cached byte
templates, see _wire) and sends them over the StreamPredictions stream, one acknowledgement per batch. When the
sidecar is absent, slow or restarting, the model keeps serving: the buffer holds up to `capacity` events, the
oldest are dropped and counted past that, and delivery resumes by itself when the sidecar is back.
"""

import collections
import itertools
import logging
import queue
import threading
import time

import grpc

from ._wire import EventEncoder
from .v1 import monitoring_pb2

_log = logging.getLogger("mlmonitoring")

_STREAM_METHOD = "/mlmonitoring.v1.PredictionMonitor/StreamPredictions"
_GROUND_TRUTH_METHOD = "/mlmonitoring.v1.PredictionMonitor/RecordGroundTruth"

_CLASSIFICATION, _REGRESSION, _ERROR = 0, 1, 2
_END = object()


class MonitoringClient:
    """Sends prediction events to the sidecar without ever blocking or failing the caller.

    Args:
        target: the sidecar's gRPC address, "127.0.0.1:50051" in a pod.
        capacity: most events buffered; past it the oldest are dropped (counted in `dropped`).
        batch_size: most events per batch on the stream.
        flush_interval: longest a recorded event waits before its batch is sent, in seconds.
        max_in_flight: batches sent and not yet acknowledged.
    """

    def __init__(self, target="127.0.0.1:50051", capacity=100_000, batch_size=500, flush_interval=1.0,
                 max_in_flight=8, channel=None):
        self._target = target
        self._capacity = capacity
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._max_in_flight = max_in_flight
        # Reconnect quickly after a sidecar restart: grpc's default backoff grows to two minutes, during which
        # every attempt fails fast and events only pile up. (min_reconnect_backoff_ms is left alone: grpc also
        # takes it as the connect timeout.)
        self._channel = channel or grpc.insecure_channel(target, options=[
            ("grpc.enable_retries", 0),
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 2000),
        ])
        self._stream = self._channel.stream_stream(
            _STREAM_METHOD, request_serializer=lambda data: data,
            response_deserializer=monitoring_pb2.RecordResponse.FromString)
        self._record_ground_truth = self._channel.unary_unary(
            _GROUND_TRUTH_METHOD, request_serializer=monitoring_pb2.GroundTruthBatch.SerializeToString,
            response_deserializer=monitoring_pb2.RecordResponse.FromString)
        self._buffer = collections.deque()
        self._labels = collections.deque()
        self._wake = threading.Event()
        self._done = threading.Condition()
        self._closed = False
        self._recorded = 0       # events ever appended
        self._counter = itertools.count(1)  # next() on it is atomic: callers may record from many threads
        self._settled = 0        # events acknowledged, rejected or dropped
        self.sent = 0            # events the sidecar accepted
        self.rejected = 0        # events the sidecar refused as invalid
        self.dropped = 0         # events dropped because the buffer was full
        self.labels_sent = 0
        self._encoder = EventEncoder()
        self._sender = threading.Thread(target=self._run, name="mlmonitoring-sender", daemon=True)
        self._sender.start()

    # -- recording: only an append ------------------------------------------------------------------------------

    def record_prediction(self, model_name, model_version, latency_seconds, predicted_class=None, confidence=None,
                          class_scores=None, predicted_value=None, prediction_id=None, features=None,
                          categorical_features=None):
        """Records one prediction. A classification when predicted_class or class_scores is given, else a
        regression when predicted_value is given. Without confidence, the highest class score is used.
        Values are converted on the sender thread, not here: this call only appends."""
        if class_scores is None and predicted_value is None:
            # The common case, kept to one append: this is the time the model's own thread spends.
            buffer = self._buffer
            if len(buffer) >= self._capacity:
                self._drop_oldest()
            buffer.append((_CLASSIFICATION, model_name, model_version, latency_seconds, predicted_class, confidence,
                           prediction_id, features, categorical_features))
            self._recorded = next(self._counter)
            return
        if predicted_value is not None and predicted_class is None and class_scores is None:
            self._append((_REGRESSION, model_name, model_version, latency_seconds, predicted_value, None,
                          prediction_id, features, categorical_features))
            return
        if class_scores:
            best = max(class_scores, key=class_scores.get)
            if predicted_class is None:
                predicted_class = best
            if confidence is None:
                confidence = class_scores[best]
        self._append((_CLASSIFICATION, model_name, model_version, latency_seconds, predicted_class, confidence,
                      prediction_id, features, categorical_features))

    def record_error(self, model_name, model_version, latency_seconds, error_type, kind="server"):
        """Records a failed prediction; error_type is the exception's type name, kind one of "timeout",
        "server", "invalid_input" or "unspecified"."""
        self._append((_ERROR, model_name, model_version, latency_seconds, error_type, kind, None, None, None))

    def record_ground_truth(self, prediction_id, actual_class=None, actual_value=None):
        """Records the label of an earlier prediction sent with prediction_id."""
        label = monitoring_pb2.GroundTruth(prediction_id=prediction_id)
        if actual_class is not None:
            label.actual_class = str(actual_class)
        else:
            label.actual_value = float(actual_value)
        self._labels.append(label)
        self._wake.set()

    def _append(self, record):
        buffer = self._buffer
        if len(buffer) >= self._capacity:
            self._drop_oldest()
        buffer.append(record)
        self._recorded = next(self._counter)

    def _drop_oldest(self):
        try:
            self._buffer.popleft()
        except IndexError:
            return
        with self._done:
            self.dropped += 1
            self._settled += 1

    # -- flushing and closing -----------------------------------------------------------------------------------

    @property
    def pending(self):
        """Events recorded and not yet settled (acknowledged, rejected or dropped)."""
        return self._recorded - self._settled

    def flush(self, timeout=None):
        """Waits until every event recorded before the call is acknowledged or dropped. Returns True then,
        False when the timeout passed first."""
        target = self._recorded
        deadline = None if timeout is None else time.monotonic() + timeout
        self._wake.set()
        with self._done:
            while self._settled < target or self._labels:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._wake.set()
                self._done.wait(0.05 if remaining is None else min(0.05, remaining))
        return True

    def close(self, timeout=5.0):
        """Flushes (within the timeout), then stops the sender and closes the channel."""
        self.flush(timeout)
        self._closed = True
        self._wake.set()
        self._sender.join(timeout)
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- the sender thread ---------------------------------------------------------------------------------------

    def _run(self):
        backoff = 0.1
        while not self._closed:
            try:
                self._send_labels()
                if self._buffer:
                    self._stream_batches()
                    backoff = 0.1
                else:
                    self._wake.wait(self._flush_interval)
                    self._wake.clear()
            except grpc.RpcError as error:
                # UNAVAILABLE and friends: the sidecar is away. Keep buffering, try again later.
                _log.debug("sidecar unavailable (%s); retrying in %.1fs", error.code(), backoff)
                time.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            except Exception:  # never let monitoring take the model down
                _log.exception("mlmonitoring sender error")
                time.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    def _stream_batches(self):
        """One stream until the buffer stays empty for a second or the stream fails."""
        requests = queue.Queue()
        in_flight = collections.deque()  # batches sent and awaiting acknowledgement, oldest first
        credit = threading.Semaphore(self._max_in_flight)
        stop = threading.Event()

        def produce():
            while True:
                item = requests.get()
                if item is _END:
                    return
                yield item

        def feed():
            idle_since = None
            while not stop.is_set() and not self._closed:
                if len(self._buffer) < self._batch_size:
                    # Linger for a whole batch, at most flush_interval (flush() wakes it): every batch costs the
                    # process the same whatever it carries, and taken as soon as anything is there, batches were
                    # a few events each at moderate rates.
                    self._wake.wait(self._flush_interval)
                self._wake.clear()
                records = self._take_batch()
                if not records:
                    now = time.monotonic()
                    if idle_since is None:
                        idle_since = now
                    elif now - idle_since > 1.0:
                        break
                    continue
                idle_since = None
                credit.acquire()
                if stop.is_set():
                    self._buffer.extendleft(reversed(records))
                    break
                in_flight.append(records)
                requests.put(self._encoder.batch(records))
            requests.put(_END)

        responses = self._stream(produce())
        feeder = threading.Thread(target=feed, name="mlmonitoring-feeder", daemon=True)
        feeder.start()
        failure = None
        try:
            for response in responses:
                records = in_flight.popleft()
                self.sent += response.accepted
                self.rejected += response.rejected
                self._settle(len(records))
                credit.release()
        except grpc.RpcError as error:
            failure = error
        # The stream is over, by our end, the sidecar's shutdown or a failure: stop feeding it, and put back what
        # it did not acknowledge, oldest first, for the next stream.
        stop.set()
        for _ in range(self._max_in_flight):
            credit.release()
        feeder.join()
        while in_flight:
            self._buffer.extendleft(reversed(in_flight.pop()))
        # The buffer's bound covers what waits for a retry too: past it, the oldest go, counted.
        while len(self._buffer) > self._capacity:
            self._drop_oldest()
        if failure is not None:
            raise failure

    def _take_batch(self):
        buffer = self._buffer
        records = []
        popleft = buffer.popleft
        try:
            for _ in range(self._batch_size):
                records.append(popleft())
        except IndexError:
            pass
        return records

    def _settle(self, count):
        with self._done:
            self._settled += count
            self._done.notify_all()

    def _send_labels(self):
        if not self._labels:
            return
        batch = monitoring_pb2.GroundTruthBatch()
        taken = []
        while self._labels and len(taken) < 1000:
            taken.append(self._labels.popleft())
        batch.labels.extend(taken)
        try:
            response = self._record_ground_truth(batch, timeout=10)
            self.labels_sent += response.accepted
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.INVALID_ARGUMENT:
                _log.warning("labels refused: %s", error.details())
            else:
                self._labels.extendleft(reversed(taken))
                raise
        with self._done:
            self._done.notify_all()

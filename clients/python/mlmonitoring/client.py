"""A non-blocking client of the monitoring sidecar.

record_* calls only append to a bounded buffer. A background thread encodes prediction batches (from cached byte
templates, see _wire) and sends them over the StreamPredictions stream, one acknowledgement per batch; a second one
sends delayed labels and business outcomes, which are few, as unary calls, so that they never wait behind a busy
prediction stream. When the sidecar is absent, slow or restarting, the model keeps serving: each buffer holds up to
`capacity` entries, the oldest are dropped and counted past that, and delivery resumes by itself when the sidecar
is back. A label or outcome the sidecar refuses as retryable (its shared store unavailable, too many labels waiting)
is sent again with a growing pause until it is accepted or `retry_max_age` has passed, when it is given up and
counted. flush() waits for everything recorded before it to be settled: acknowledged, rejected, given up or dropped.
"""

import collections
import dataclasses
import heapq
import itertools
import logging
import queue
import threading
import time
from typing import Any, Mapping, Optional

import grpc

from ._wire import EventEncoder
from .v1 import monitoring_pb2

_log = logging.getLogger("mlmonitoring")

_STREAM_METHOD = "/mlmonitoring.v1.PredictionMonitor/StreamPredictions"
_GROUND_TRUTH_METHOD = "/mlmonitoring.v1.PredictionMonitor/RecordGroundTruth"
_OUTCOMES_METHOD = "/mlmonitoring.v1.PredictionMonitor/RecordOutcomes"
_SIDE_BATCH_SIZE = 1000

_CLASSIFICATION, _REGRESSION, _ERROR = 0, 1, 2
_END = object()


@dataclasses.dataclass(frozen=True)
class ClientStats:
    """What became of everything recorded so far, read at one moment (MonitoringClient.stats())."""

    sent: int               # predictions the sidecar accepted
    rejected: int           # predictions the sidecar refused as invalid
    dropped: int            # predictions dropped because the buffer was full
    labels_sent: int        # labels the sidecar accepted
    labels_rejected: int    # labels the sidecar refused as invalid
    labels_dropped: int     # labels dropped because their buffer was full
    labels_given_up: int    # labels refused as retryable until retry_max_age passed
    outcomes_sent: int
    outcomes_rejected: int
    outcomes_dropped: int
    outcomes_given_up: int
    pending: int            # recorded and not yet settled


class MonitoringClient:
    """Sends prediction events to the sidecar without ever blocking or failing the caller.

    Args:
        target: the sidecar's gRPC address, "127.0.0.1:50051" in a pod.
        capacity: most events buffered; past it the oldest are dropped (counted in `dropped`).
        batch_size: most events per batch on the stream.
        flush_interval: longest a recorded event waits before its batch is sent, in seconds.
        max_in_flight: batches sent and not yet acknowledged.
        retry_max_age: longest a label or outcome refused as retryable is sent again, in seconds; then it is
            given up (counted in `labels_given_up`, `outcomes_given_up`).
    """

    def __init__(self, target: str = "127.0.0.1:50051", capacity: int = 100_000, batch_size: int = 500,
                 flush_interval: float = 1.0, max_in_flight: int = 8, channel: Optional[Any] = None,
                 retry_max_age: float = 300.0) -> None:
        self._target = target
        self._capacity = capacity
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._max_in_flight = max_in_flight
        self._retry_max_age = retry_max_age
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
        self._record_outcomes = self._channel.unary_unary(
            _OUTCOMES_METHOD, request_serializer=monitoring_pb2.OutcomeBatch.SerializeToString,
            response_deserializer=monitoring_pb2.RecordResponse.FromString)
        self._buffer = collections.deque()
        # Labels and outcomes, in the order recorded: (is_label, message, first refused at or None, refusals).
        self._side = collections.deque()
        # Those refused as retryable, each waiting for its next try: a heap of (due, sequence, entry).
        self._side_retry = []
        self._retry_sequence = itertools.count()
        self._side_wake = threading.Event()
        self._side_counter = itertools.count(1)
        self._side_recorded = 0  # labels and outcomes ever appended
        self._side_settled = 0   # labels and outcomes acknowledged, rejected or dropped
        self._wake = threading.Event()
        self._done = threading.Condition()
        self._closed = False
        self._recorded = 0       # events ever appended
        self._counter = itertools.count(1)  # next() on it is atomic: callers may record from many threads
        self._settled = 0        # events acknowledged, rejected or dropped
        self._sent = 0            # events the sidecar accepted
        self._rejected = 0        # events the sidecar refused as invalid
        self._dropped = 0         # events dropped because the buffer was full
        self._labels_sent = 0       # labels the sidecar accepted
        self._labels_rejected = 0   # labels the sidecar refused (unknown prediction id, invalid value)
        self._outcomes_sent = 0     # outcomes the sidecar accepted
        self._outcomes_rejected = 0  # outcomes the sidecar refused
        self._labels_dropped = 0    # labels dropped because their buffer was full
        self._outcomes_dropped = 0  # outcomes dropped because their buffer was full
        self._labels_given_up = 0   # labels refused as retryable until retry_max_age passed
        self._outcomes_given_up = 0  # outcomes refused as retryable until retry_max_age passed
        self._encoder = EventEncoder()
        self._sender = threading.Thread(target=self._run, name="mlmonitoring-sender", daemon=True)
        self._sender.start()
        self._side_sender = threading.Thread(target=self._run_side, name="mlmonitoring-labels", daemon=True)
        self._side_sender.start()

    # -- recording: only an append ------------------------------------------------------------------------------

    def record_prediction(self, model_name: str, model_version: str, latency_seconds: float, *,
                          predicted_class: Optional[Any] = None, confidence: Optional[float] = None,
                          class_scores: Optional[Mapping[str, float]] = None, predicted_value: Optional[float] = None,
                          prediction_id: Optional[str] = None, features: Optional[Mapping[str, float]] = None,
                          categorical_features: Optional[Mapping[str, str]] = None) -> None:
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

    def record_error(self, model_name: str, model_version: str, latency_seconds: float, error_type: str, *,
                     kind: str = "server") -> None:
        """Records a failed prediction; error_type is the exception's type name, kind one of "timeout",
        "server", "invalid_input" or "unspecified"."""
        self._append((_ERROR, model_name, model_version, latency_seconds, error_type, kind, None, None, None))

    def record_ground_truth(self, prediction_id: str, *, actual_class: Optional[Any] = None,
                            actual_value: Optional[float] = None, model_name: Optional[str] = None) -> None:
        """Records the label of an earlier prediction sent with prediction_id: actual_class for a classifier,
        actual_value for a regressor. model_name is a hint for the sidecar when the prediction is not found."""
        label = monitoring_pb2.GroundTruth(prediction_id=prediction_id)
        if model_name:
            label.model_name = model_name
        if actual_class is not None:
            label.actual_class = str(actual_class)
        elif actual_value is not None:
            label.actual_value = float(actual_value)
        # Without a value the sidecar refuses the label by name ("actual: one of actual_class or actual_value is
        # required"), and the client counts it in labels_rejected: the caller's thread is never the one to fail.
        self._append_side((True, label, None, 0))

    def record_outcome(self, kind: str, value: float, *, prediction_id: Optional[str] = None,
                       model_name: Optional[str] = None) -> None:
        """Records a business outcome ("conversion", "revenue", ...) of value, attributed to the prediction sent
        with prediction_id, or to model_name when no prediction id is known."""
        outcome = monitoring_pb2.Outcome(kind=kind, value=float(value))
        if prediction_id:
            outcome.prediction_id = prediction_id
        if model_name:
            outcome.model_name = model_name
        self._append_side((False, outcome, None, 0))

    def _append_side(self, entry):
        side = self._side
        # What waits to be sent again counts against the same bound.
        if len(side) + len(self._side_retry) >= self._capacity:
            try:
                oldest = side.popleft()
            except IndexError:
                pass
            else:
                self._settle_dropped_side(oldest[0])
        side.append(entry)
        self._side_recorded = next(self._side_counter)
        self._side_wake.set()

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
            self._dropped += 1
            self._settled += 1

    # -- flushing and closing -----------------------------------------------------------------------------------

    def stats(self) -> ClientStats:
        """Every counter at one moment: what was sent, refused, dropped, given up and what is still pending."""
        with self._done:
            return ClientStats(
                sent=self._sent, rejected=self._rejected, dropped=self._dropped,
                labels_sent=self._labels_sent, labels_rejected=self._labels_rejected,
                labels_dropped=self._labels_dropped, labels_given_up=self._labels_given_up,
                outcomes_sent=self._outcomes_sent, outcomes_rejected=self._outcomes_rejected,
                outcomes_dropped=self._outcomes_dropped, outcomes_given_up=self._outcomes_given_up,
                pending=self.pending)

    # Read-only views of stats(), kept for the callers of the 0.1 attributes; stats() reads them together.
    sent = property(lambda self: self._sent)
    rejected = property(lambda self: self._rejected)
    dropped = property(lambda self: self._dropped)
    labels_sent = property(lambda self: self._labels_sent)
    labels_rejected = property(lambda self: self._labels_rejected)
    labels_dropped = property(lambda self: self._labels_dropped)
    labels_given_up = property(lambda self: self._labels_given_up)
    outcomes_sent = property(lambda self: self._outcomes_sent)
    outcomes_rejected = property(lambda self: self._outcomes_rejected)
    outcomes_dropped = property(lambda self: self._outcomes_dropped)
    outcomes_given_up = property(lambda self: self._outcomes_given_up)

    @property
    def pending(self) -> int:
        """Predictions, labels and outcomes recorded and not yet settled (acknowledged, rejected, given up or dropped)."""
        return self._recorded - self._settled + self._side_recorded - self._side_settled

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Waits until every prediction, label and outcome recorded before the call is acknowledged by the sidecar,
        rejected by it, given up or dropped. Returns True then, False when the timeout passed first."""
        target = self._recorded
        side_target = self._side_recorded
        deadline = None if timeout is None else time.monotonic() + timeout
        self._wake.set()
        self._side_wake.set()
        with self._done:
            while self._settled < target or self._side_settled < side_target:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._wake.set()
                self._done.wait(0.05 if remaining is None else min(0.05, remaining))
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Flushes (within the timeout), then stops the sender and closes the channel."""
        self.flush(timeout)
        self._closed = True
        self._wake.set()
        self._side_wake.set()
        self._sender.join(timeout)
        self._side_sender.join(timeout)
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- the sender thread ---------------------------------------------------------------------------------------

    def _run(self):
        self._send_while_open("predictions", lambda: self._buffer, self._wake, self._stream_batches)

    def _send_while_open(self, what, has_work, wake, send, idle_wait=None):
        """A sender thread's loop: sends while there is work, else waits to be woken (or the flush interval).

        A failure backs off exponentially from 0.1 s to 5 s and leaves the work queued: UNAVAILABLE and friends
        mean the sidecar is away, anything else is logged; neither may take the model down.
        """
        backoff = 0.1
        while not self._closed:
            if not has_work():
                wake.wait(self._flush_interval if idle_wait is None else idle_wait())
                wake.clear()
                continue
            try:
                send()
                backoff = 0.1
            except grpc.RpcError as error:
                _log.debug("sidecar unavailable for %s (%s); retrying in %.1fs", what, error.code(), backoff)
                time.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            except Exception:  # never let monitoring take the model down
                _log.exception("mlmonitoring %s sender error", what)
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
                self._sent += response.accepted
                self._rejected += response.rejected
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

    # -- the label and outcome sender ---------------------------------------------------------------------------

    def _run_side(self):
        self._send_while_open("labels", self._side_has_work, self._side_wake, self._send_side_batch,
                              self._side_idle_wait)

    def _side_has_work(self):
        return bool(self._side) or bool(self._side_retry and self._side_retry[0][0] <= time.monotonic())

    def _side_idle_wait(self):
        """Sleep until the next retry falls due, or the flush interval."""
        if self._side_retry:
            return max(0.0, min(self._flush_interval, self._side_retry[0][0] - time.monotonic()))
        return self._flush_interval

    def _send_side_batch(self):
        """Sends the oldest run of labels, or of outcomes, as one call; settles them only once it is answered."""
        side = self._side
        now = time.monotonic()
        # Refusals due for another try go first: they are older than anything queued.
        while self._side_retry and self._side_retry[0][0] <= now:
            side.appendleft(heapq.heappop(self._side_retry)[2])
        taken = []
        is_label = None
        # A caller may drop the oldest entry meanwhile (a full buffer): pop, and put back what does not fit.
        while len(taken) < _SIDE_BATCH_SIZE:
            try:
                entry = side.popleft()
            except IndexError:
                break
            if is_label is None:
                is_label = entry[0]
            elif entry[0] != is_label:
                side.appendleft(entry)
                break
            taken.append(entry)
        if not taken:
            return
        messages = [entry[1] for entry in taken]
        retry = ()
        try:
            if is_label:
                response = self._record_ground_truth(monitoring_pb2.GroundTruthBatch(labels=messages), timeout=10)
            else:
                response = self._record_outcomes(monitoring_pb2.OutcomeBatch(outcomes=messages), timeout=10)
            # Retryable refusals are always listed by index; the others are final.
            retry = sorted({r.index for r in response.rejections if r.retryable})
            accepted, rejected = response.accepted, response.rejected - len(retry)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.INVALID_ARGUMENT:
                # Not answered: sent again, before anything newer.
                side.extendleft(reversed(taken))
                raise
            # Refused whole (none of them valid): they are settled as rejected, not sent again forever.
            _log.warning("%s refused: %s", "labels" if is_label else "outcomes", error.details())
            accepted, rejected = 0, len(taken)
        given_up = 0
        for index in retry:
            kind, message, refused_since, refusals = taken[index]
            refused_since = now if refused_since is None else refused_since
            if now - refused_since >= self._retry_max_age:
                given_up += 1
                continue
            # 0.1 s, doubling to 5 s: a store that restarts is back within seconds, one that is away stays so.
            due = now + min(0.1 * 2 ** refusals, 5.0)
            heapq.heappush(self._side_retry, (due, next(self._retry_sequence), (kind, message, refused_since, refusals + 1)))
        if given_up:
            _log.warning("%d %s given up after being refused as retryable for %.0f s", given_up,
                         "labels" if is_label else "outcomes", self._retry_max_age)
        with self._done:
            if is_label:
                self._labels_sent += accepted
                self._labels_rejected += rejected
                self._labels_given_up += given_up
            else:
                self._outcomes_sent += accepted
                self._outcomes_rejected += rejected
                self._outcomes_given_up += given_up
            self._side_settled += len(taken) - len(retry) + given_up
            self._done.notify_all()

    def _settle_dropped_side(self, is_label):
        with self._done:
            if is_label:
                self._labels_dropped += 1
            else:
                self._outcomes_dropped += 1
            self._side_settled += 1
            self._done.notify_all()

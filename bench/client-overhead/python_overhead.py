"""What a Python model process spends per prediction on monitoring: the guide's in-process prometheus_client
instrumentation (its MonitoredPredictor's four metric calls) against the mlmonitoring client, side by side.

Counts the whole process's CPU time (every thread: the caller, the client's sender, gRPC's own threads) from the
first record to the end of a flush that waits for every acknowledgement, and the caller thread's own CPU time.
With --rate, predictions come at that many per second (sleeping between 10 ms slices), as in a model server that is
not saturated; what the pacing alone costs is measured too and taken off both sides.

    /usr/bin/python3 bench/client-overhead/python_overhead.py --sidecar artifacts/sidecar/MlMonitoring.Sidecar
"""

import argparse
import json
import os
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path[:0] = [os.path.join(ROOT, "clients", "python"), os.path.join(ROOT, "clients", "python", "tests")]

from prometheus_client import CollectorRegistry, Counter, Histogram  # noqa: E402

from mlmonitoring import MonitoringClient  # noqa: E402


class Pace:
    """Holds the caller back until prediction i is due (per_second 0: flat out)."""

    def __init__(self, per_second=0):
        self.per_second = per_second
        self.started = time.monotonic()

    def wait(self, i):
        if self.per_second:
            while time.monotonic() < self.started + i / self.per_second:
                time.sleep(0.01)


def unmonitored(n, rate):
    pace = Pace(rate)
    process0, thread0 = time.process_time(), time.thread_time()
    for i in range(n):
        pace.wait(i)
    return {"process_us": (time.process_time() - process0) / n * 1e6, "caller_us": (time.thread_time() - thread0) / n * 1e6}


def in_process(n, rate=0):
    """The guide's instrumentation, exactly its four calls per successful prediction."""
    registry = CollectorRegistry()
    requests = Counter("ml_prediction_requests_total", "", ["model_name", "model_version"], registry=registry)
    latency = Histogram("ml_prediction_latency_seconds", "", ["model_name"],
                        buckets=[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5], registry=registry)
    confidence = Histogram("ml_prediction_confidence", "", ["model_name", "predicted_class"],
                           buckets=[0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99], registry=registry)
    classes = Counter("ml_prediction_class_total", "", ["model_name", "predicted_class"], registry=registry)
    pace = Pace(rate)
    process0, thread0 = time.process_time(), time.thread_time()
    for i in range(n):
        pace.wait(i)
        predicted = "legit" if i % 10 else "fraud"
        requests.labels(model_name="fraud", model_version="v1").inc()
        latency.labels(model_name="fraud").observe(0.012)
        classes.labels(model_name="fraud", predicted_class=predicted).inc()
        confidence.labels(model_name="fraud", predicted_class=predicted).observe(0.93)
    thread1 = time.thread_time()
    process1 = time.process_time()
    return {"process_us": (process1 - process0) / n * 1e6, "caller_us": (thread1 - thread0) / n * 1e6, "delivered": n}


def sidecar_client(n, target, rate=0):
    client = MonitoringClient(target)
    pace = Pace(rate)
    process0, thread0 = time.process_time(), time.thread_time()
    for i in range(n):
        pace.wait(i)
        client.record_prediction("overhead", "v1", 0.012, predicted_class="legit" if i % 10 else "fraud", confidence=0.93)
    thread1 = time.thread_time()
    flushed = client.flush(120)
    process1 = time.process_time()
    sent, dropped = client.sent, client.dropped
    client.close()
    return {"process_us": (process1 - process0) / n * 1e6, "caller_us": (thread1 - thread0) / n * 1e6,
            "delivered": sent, "dropped": dropped, "flushed": flushed}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--predictions", type=int, default=100_000)
    parser.add_argument("--sidecar", help="start this sidecar executable for the run")
    parser.add_argument("--target", help="or use a running sidecar")
    parser.add_argument("--rate", type=int, default=0, help="predictions per second; 0: flat out")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    sidecar = None
    if args.target is None:
        from sidecar import Sidecar
        os.environ["MLMONITORING_SIDECAR"] = os.path.abspath(args.sidecar)
        sidecar = Sidecar()
        target = sidecar.target
    else:
        target = args.target
    try:
        in_process(10_000)  # warm up both paths
        sidecar_client(10_000, target)
        if args.rate:
            in_process(args.rate * 3, args.rate)
            sidecar_client(args.rate * 3, target, args.rate)
        idle = unmonitored(args.predictions, args.rate) if args.rate else {"process_us": 0.0, "caller_us": 0.0}
        baseline = in_process(args.predictions, args.rate)
        client = sidecar_client(args.predictions, target, args.rate)
        for side in (baseline, client):
            side["process_us"] -= idle["process_us"]
            side["caller_us"] -= idle["caller_us"]
        delivered_at_sidecar = sidecar.metric("ml_prediction_requests_total", model_name="overhead", model_version="v1") \
            if sidecar else None
    finally:
        if sidecar:
            sidecar.stop()

    result = {"predictions": args.predictions, "rate": args.rate, "pacing": idle, "in_process": baseline, "client": client,
              "ratio_process": client["process_us"] / baseline["process_us"],
              "delivered_at_sidecar": delivered_at_sidecar}
    if args.json:
        print(json.dumps(result))
    else:
        paced = f" at {args.rate}/s; pacing alone {idle['process_us']:.2f} us/prediction, taken off below" if args.rate else " flat out"
        print(f"predictions                 {args.predictions}{paced}")
        print(f"in-process prometheus_client  process {baseline['process_us']:.2f} us/prediction, caller {baseline['caller_us']:.2f} us")
        print(f"mlmonitoring client           process {client['process_us']:.2f} us/prediction, caller {client['caller_us']:.2f} us, "
              f"delivered {client['delivered']} (dropped {client['dropped']})")
        print(f"client / in-process (process CPU)  {result['ratio_process']:.3f}")
        if delivered_at_sidecar is not None:
            print(f"counted by the sidecar        {delivered_at_sidecar:.0f} (+10,000 warm-up)")


if __name__ == "__main__":
    main()

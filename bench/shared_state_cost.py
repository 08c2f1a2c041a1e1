"""What the redis store costs Redis: commands and bytes per prediction and per label, memory per pending prediction.

Usage (from bench/run.sh): shared_state_cost.py GRPC_PORT REDIS_PORT N. Sends N predictions with ids in batches of 500,
waits until all are pending in Redis, then their N labels; reads INFO between the phases (CONFIG RESETSTAT first).
"""
import json, subprocess, sys, time
import grpc
from mlmonitoring.v1 import monitoring_pb2 as pb, monitoring_pb2_grpc as rpc
target, redis_port, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
stub = rpc.PredictionMonitorStub(grpc.insecure_channel(f"127.0.0.1:{target}"))


def redis(*args):
    return subprocess.run(["redis-cli", "-p", redis_port, *args], capture_output=True, text=True, check=True).stdout


def info():
    fields = {}
    for line in redis("info", "all").splitlines():
        if ":" in line and not line.startswith("#"):
            key, value = line.split(":", 1)
            fields[key] = value.strip()
    calls = sum(int(v.split("calls=")[1].split(",")[0]) for k, v in fields.items() if k.startswith("cmdstat_"))
    return calls, int(fields["total_net_input_bytes"]) + int(fields["total_net_output_bytes"]), int(fields["used_memory"])


redis("config", "resetstat")
calls0, bytes0, memory0 = info()
for start in range(0, n, 500):
    batch = pb.PredictionBatch()
    for i in range(start, min(n, start + 500)):
        e = batch.events.add(prediction_id=f"bench-{i:08d}", model_name="fraud", model_version="v1", latency_seconds=0.01)
        e.classification.predicted_class = "legit" if i % 5 else "fraud"
        e.classification.confidence = 0.9
    stub.RecordPredictions(batch)
deadline = time.monotonic() + 60
while int(redis("zcard", "{mlmon:}pending")) < n and time.monotonic() < deadline:
    time.sleep(0.05)
calls1, bytes1, memory1 = info()
for start in range(0, n, 500):
    labels = pb.GroundTruthBatch()
    for i in range(start, min(n, start + 500)):
        labels.labels.add(prediction_id=f"bench-{i:08d}", actual_class="legit")
    stub.RecordGroundTruth(labels)
calls2, bytes2, _ = info()
print(json.dumps({
    "predictions": n,
    "commands_per_prediction": (calls1 - calls0) / n, "bytes_per_prediction": (bytes1 - bytes0) / n,
    "memory_per_pending": (memory1 - memory0) / n,
    "commands_per_label": (calls2 - calls1) / n, "bytes_per_label": (bytes2 - bytes1) / n,
}))

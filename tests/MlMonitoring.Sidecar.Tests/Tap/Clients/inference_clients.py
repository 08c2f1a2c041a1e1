"""Calls a model server through the tap and directly, as a user's client would, and checks they get the same bytes.

Open Inference Protocol over REST and KServe v1 with Python's own http.client; the Open Inference Protocol over gRPC
with Debian's python3-grpcio and stubs generated here from protos/inference/grpc_service.proto by Debian's protoc.
Prints, as JSON, every instance the client got an answer for through the tap (model, version, prediction id, class)
and every error, for the test to compare with the sidecar's metrics.

usage: inference_clients.py <repo> <tap-http> <direct-http> <tap-grpc> <direct-grpc>   (host:port each)
"""
import http.client
import json
import os
import struct
import subprocess
import sys
import tempfile

repo, tap_http, direct_http, tap_grpc, direct_grpc = sys.argv[1:6]

stubs = tempfile.mkdtemp(prefix="oip-stubs-")
subprocess.run(
    ["protoc", "-I", os.path.join(repo, "protos"), f"--python_out={stubs}", f"--grpc_python_out={stubs}",
     "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin", "inference/grpc_service.proto"],
    check=True)
sys.path.insert(0, stubs)
import grpc  # noqa: E402
from inference import grpc_service_pb2 as pb  # noqa: E402
from inference import grpc_service_pb2_grpc as pb_grpc  # noqa: E402

seen = []
errors = []


def rest(method, path, body=None, headers=None):
    """The same call to both; returns the tap's (status, body) after checking the direct answer is identical."""
    answers = []
    for address in (tap_http, direct_http):
        connection = http.client.HTTPConnection(address, timeout=30)
        payload = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        connection.request(method, path, body=payload, headers={"content-type": "application/json", **(headers or {})})
        response = connection.getresponse()
        answers.append((response.status, response.read(), response.getheader("content-type")))
        connection.close()
    assert answers[0] == answers[1], f"{method} {path}: through the tap {answers[0][:2]!r}, directly {answers[1][:2]!r}"
    return answers[0][0], answers[0][1]


def v2_infer(path, rows, request_id=None, body_id=None, model="iris"):
    body = {"inputs": [{"name": "features", "shape": [len(rows), len(rows[0])], "datatype": "FP32", "data": rows}]}
    if body_id:
        body["id"] = body_id
    status, answer = rest("POST", path, body, {"x-request-id": request_id} if request_id else None)
    if status != 200:
        errors.append({"model": model, "status": status})
        return
    answer = json.loads(answer)
    labels = next(o for o in answer["outputs"] if o["name"] == "label")["data"]
    pid = request_id or body_id or ""
    for i, label in enumerate(labels):
        seen.append({"model": model, "version": answer["model_version"], "id": pid if len(labels) == 1 else f"{pid}/{i}", "class": label})


# Open Inference Protocol over REST: a batch, a versioned path, an id in the body, failures, a body past the bound.
v2_infer("/v2/models/iris/infer", [[0.5, 3.0, 1.4, 0.2], [1.5, 2.9, 4.3, 1.3], [2.5, 3.3, 6.0, 2.5], [4.2, 3.1, 5.9, 2.1]], request_id="rest-1")
v2_infer("/v2/models/iris/versions/7/infer", [[1.0, 3.0, 4.0, 1.0]], body_id="body-id-1")
v2_infer("/v2/models/broken/infer", [[1.0, 1.0, 1.0, 1.0]], model="broken")
v2_infer("/v2/models/picky/infer", [[1.0, 1.0, 1.0, 1.0]], model="picky")
v2_infer("/v2/models/iris/infer", [[2.0] + [0.001] * 300_000], request_id="large-1")
# Paths the tap does not understand pass through untouched.
assert rest("GET", "/v2/health/ready")[0] == 200
assert b"vllm:num_requests_running" in rest("GET", "/metrics")[1]

# KServe v1.
status, answer = rest("POST", "/v1/models/churn:predict", {"instances": [[3, 1], [0, 2], [5, 5]]}, {"x-request-id": "v1-1"})
assert status == 200
for i, prediction in enumerate(json.loads(answer)["predictions"]):
    seen.append({"model": "churn", "version": "", "id": f"v1-1/{i}", "class": prediction})


# Open Inference Protocol over gRPC: typed contents, raw contents, failures, a call the tap passes through.
def grpc_call(method, request, metadata=()):
    answers = []
    for address in (tap_grpc, direct_grpc):
        with grpc.insecure_channel(address) as channel:
            stub = pb_grpc.GRPCInferenceServiceStub(channel)
            try:
                answers.append(("ok", getattr(stub, method)(request, metadata=metadata, timeout=30).SerializeToString()))
            except grpc.RpcError as error:
                answers.append((error.code().name, error.details()))
    assert answers[0] == answers[1], f"{method}: through the tap {answers[0]!r}, directly {answers[1]!r}"
    return answers[0]


def grpc_infer(model, rows, request_id, raw=False):
    tensor = pb.ModelInferRequest.InferInputTensor(name="features", datatype="FP32", shape=[len(rows), len(rows[0])])
    request = pb.ModelInferRequest(model_name=model, id=request_id, inputs=[tensor])
    flat = [v for row in rows for v in row]
    if raw:
        request.raw_input_contents.append(struct.pack(f"<{len(flat)}f", *flat))
    else:
        tensor.contents.fp32_contents.extend(flat)
        request.inputs[0].CopyFrom(tensor)
    outcome, answer = grpc_call("ModelInfer", request)
    if outcome != "ok":
        errors.append({"model": model, "grpc": outcome})
        return
    response = pb.ModelInferResponse.FromString(answer)
    labels = next(o for o in response.outputs if o.name == "label").contents.int64_contents
    for i, label in enumerate(labels):
        seen.append({"model": model, "version": response.model_version, "id": request_id if len(labels) == 1 else f"{request_id}/{i}", "class": label})


grpc_infer("iris", [[0.2, 3.0, 1.4, 0.2], [1.7, 2.9, 4.3, 1.3]], "grpc-1")
grpc_infer("iris", [[2.2, 3.0, 5.0, 2.0], [0.1, 3.1, 1.5, 0.2], [1.1, 2.5, 3.9, 1.1]], "grpc-raw", raw=True)
# A 1.2 MB binary tensor: forwarded whole, its request not observed (counted); the answer still is.
grpc_infer("iris", [[2.0] + [0.001] * 300_000], "grpc-large", raw=True)
grpc_infer("broken", [[1.0, 1.0, 1.0, 1.0]], "grpc-broken")
grpc_infer("picky", [[1.0, 1.0, 1.0, 1.0]], "grpc-picky")
assert grpc_call("ServerLive", pb.ServerLiveRequest())[0] == "ok"

json.dump({"seen": seen, "errors": errors}, sys.stdout)

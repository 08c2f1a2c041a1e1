"""An example model server: a scikit-learn classifier served over HTTP with the standard library, monitored by
the sidecar through the mlmonitoring client. Run it beside the sidecar:

    PYTHONPATH=clients/python /usr/bin/python3 examples/python-model-server/server.py

POST /predict {"features": {"sepal_length": 5.1, ...}, "prediction_id": "optional"} -> {"prediction", "confidence"}
POST /label   {"prediction_id": "...", "actual_class": "setosa"}                    -> the delayed label
GET  /healthz
"""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from mlmonitoring import MonitoredPredictor, MonitoringClient

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def train():
    iris = load_iris()
    model = LogisticRegression(max_iter=500).fit(iris.data, [iris.target_names[t] for t in iris.target])
    return model


class Handler(BaseHTTPRequestHandler):
    # Keep-alive with explicit Content-Length: clients may reuse their connection.
    protocol_version = "HTTP/1.1"
    predictor = None
    client = None

    def do_GET(self):
        if self.path == "/healthz":
            self._reply(200, {"status": "ok"})
        else:
            self._reply(404, {"error": "not found"})

    def do_POST(self):
        if self.headers.get("Content-Length") is None:
            self._reply(411, {"error": "Content-Length required (chunked bodies are not supported)"})
            return
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        except json.JSONDecodeError as error:
            self._reply(400, {"error": f"invalid JSON: {error}"})
            return
        if self.path == "/predict":
            try:
                result = self.predictor.predict(body.get("features", {}), prediction_id=body.get("prediction_id"))
            except (KeyError, ValueError, TypeError) as error:
                # Recorded by MonitoredPredictor as an error of this type; the caller gets a 400.
                self._reply(400, {"error": f"{type(error).__name__}: {error}"})
                return
            self._reply(200, result)
        elif self.path == "/label":
            self.client.record_ground_truth(body["prediction_id"], actual_class=body["actual_class"])
            self._reply(202, {"status": "accepted"})
        else:
            self._reply(404, {"error": "not found"})

    def _reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass  # quiet: one line per request would cost more than the monitoring


def main():
    target = os.environ.get("MLMONITORING_TARGET", "127.0.0.1:50051")
    port = int(os.environ.get("PORT", "8080"))
    client = MonitoringClient(target)
    Handler.client = client
    Handler.predictor = MonitoredPredictor(train(), os.environ.get("MODEL_NAME", "iris-classifier"),
                                           os.environ.get("MODEL_VERSION", "v1"), client, feature_names=FEATURES)
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"serving on http://127.0.0.1:{port}, monitoring to {target}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        client.close()


if __name__ == "__main__":
    sys.exit(main())

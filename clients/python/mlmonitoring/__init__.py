"""mlmonitoring: the Python client of the MlMonitoring sidecar.

    from mlmonitoring import MonitoringClient, MonitoredPredictor

    client = MonitoringClient("127.0.0.1:50051")
    predictor = MonitoredPredictor(model, "fraud-detector", "v3", client)
    result = predictor.predict({"amount": 42.0, "age": 31})

Works with Debian's python3-grpcio (1.51) and python3-protobuf (3.21); the generated stubs are in mlmonitoring.v1.
"""

from .client import ClientStats, MonitoringClient
from .predictor import MonitoredPredictor

__version__ = "0.1.0"

__all__ = ["ClientStats", "MonitoringClient", "MonitoredPredictor", "__version__"]

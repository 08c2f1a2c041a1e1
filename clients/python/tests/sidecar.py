"""Starts the real sidecar (the built MlMonitoring.Sidecar.dll named by MLMONITORING_SIDECAR_DLL) for the tests."""

import os
import re
import socket
import subprocess
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sidecar:
    def __init__(self, grpc_port=None, env=None):
        dll = os.environ.get("MLMONITORING_SIDECAR_DLL")
        if not dll or not os.path.exists(dll):
            raise RuntimeError("MLMONITORING_SIDECAR_DLL must name the built MlMonitoring.Sidecar.dll "
                               "(the xunit wrapper in tests/MlMonitoring.Client.Tests sets it)")
        self.grpc_port = grpc_port or free_port()
        self.http_port = free_port()
        environment = dict(os.environ,
                           Kestrel__Endpoints__Grpc__Url=f"http://127.0.0.1:{self.grpc_port}",
                           Kestrel__Endpoints__Http__Url=f"http://127.0.0.1:{self.http_port}",
                           **(env or {}))
        self.process = subprocess.Popen(["dotnet", "exec", dll], cwd=os.path.dirname(dll), env=environment,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/readyz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the sidecar was not ready within 60 s")

    @property
    def target(self):
        return f"127.0.0.1:{self.grpc_port}"

    def metric(self, name, **labels):
        """The value of one series on /metrics, 0 when absent."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/metrics", timeout=5) as response:
            text = response.read().decode()
        for line in text.splitlines():
            match = re.match(r"^(\w+)\{(.*)\} (\S+)$", line)
            if not match or match.group(1) != name:
                continue
            found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2)))
            found.pop("otel_scope_name", None)
            if found == labels:
                return float(match.group(3))
        return 0.0

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

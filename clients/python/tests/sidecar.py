"""Starts the real sidecar (the shipped native executable named by MLMONITORING_SIDECAR) for the tests."""

import itertools
import os
import random
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request


# Ports from below the kernel's ephemeral range (32768 and up), which it also hands out as source ports of
# outgoing connections: a port asked for with bind(0) can be taken by a client before the sidecar binds it.
# The .NET tests take theirs from 20000-31999; these come from 10000-19999, each once, from a random start.
_candidates = itertools.count(random.randrange(10_000))


def free_port():
    for _ in range(10_000):
        port = 10_000 + next(_candidates) % 10_000
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port in 10000-19999")


# The console log's header of a warning or an error: "warn: Category[event id]", the message on indented lines.
_WARNING_HEADER = re.compile(r"^(warn|fail|crit): ([^\[]+)\[")


def warnings_in(log):
    """The warnings and errors of a console log, as "level category: message" lines."""
    lines = log.splitlines()
    found = []
    for i, line in enumerate(lines):
        header = _WARNING_HEADER.match(line)
        if header:
            message = list(itertools.takewhile(lambda l: l.startswith("      "), lines[i + 1:]))
            found.append(f"{header.group(1)} {header.group(2)}: {' '.join(m.strip() for m in message)}")
    return found


class Sidecar:
    """
    The sidecar as a process. Stopping it fails the test if it logged a warning or an error that the test did not
    name in expected_logs (fragments of the category or message), as the .NET tests do.
    """

    def __init__(self, grpc_port=None, env=None, expected_logs=()):
        executable = os.environ.get("MLMONITORING_SIDECAR")
        if not executable or not os.access(executable, os.X_OK):
            raise RuntimeError("MLMONITORING_SIDECAR must name the sidecar's native executable, artifacts/sidecar/"
                               "MlMonitoring.Sidecar from ./build.sh (the xunit wrapper in tests/MlMonitoring.Client.Tests "
                               "sets it)")
        self.grpc_port = grpc_port or free_port()
        self.http_port = free_port()
        environment = dict(os.environ,
                           Kestrel__Endpoints__Grpc__Url=f"http://127.0.0.1:{self.grpc_port}",
                           Kestrel__Endpoints__Http__Url=f"http://127.0.0.1:{self.http_port}",
                           **(env or {}))
        # Started from a folder of its own, not beside the build, as a systemd unit or an image may start it.
        self._cwd = tempfile.mkdtemp(prefix="mlmonitoring-cwd-")
        self.expected_logs = list(expected_logs)
        self._log = None
        self._log_path = os.path.join(self._cwd, "sidecar.log")
        with open(self._log_path, "wb") as log:
            self.process = subprocess.Popen([executable], cwd=self._cwd, env=environment,
                                            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/readyz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        log = self.stop(check_logs=False)
        raise RuntimeError(f"the sidecar was not ready within 60 s:\n{log}")

    @property
    def target(self):
        return f"127.0.0.1:{self.grpc_port}"

    def series(self):
        """Every series on /metrics as (name, labels, value), without the OpenTelemetry scope labels."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/metrics", timeout=5) as response:
            text = response.read().decode()
        found = []
        for line in text.splitlines():
            match = re.match(r"^(\w+)(?:\{(.*)\})? (\S+)(?: \d+)?$", line)
            if not match:
                continue
            labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
            for scope_label in [k for k in labels if k.startswith("otel_scope_")]:
                del labels[scope_label]
            found.append((match.group(1), labels, float(match.group(3))))
        return found

    def metric(self, name, **labels):
        """The value of one series on /metrics, 0 when absent."""
        for found_name, found_labels, value in self.series():
            if found_name == name and found_labels == labels:
                return value
        return 0.0

    def metric_sum(self, name, **labels):
        """The sum of the series of name whose labels include these, as PromQL's sum by (...) would give."""
        return sum(value for found_name, found_labels, value in self.series()
                   if found_name == name and all(found_labels.get(k) == v for k, v in labels.items()))

    def wait_for(self, name, expected, timeout=10, **labels):
        """Waits until metric_sum(name, **labels) is expected; returns the last value read."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.metric_sum(name, **labels)
            if value == expected or time.monotonic() > deadline:
                return value
            time.sleep(0.05)

    def stop(self, check_logs=True):
        """Stops the process (SIGTERM, as Kubernetes does); returns its log."""
        if self._log is not None:
            return self._log
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        with open(self._log_path, encoding="utf-8", errors="replace") as log_file:
            log = self._log = log_file.read()
        shutil.rmtree(self._cwd, ignore_errors=True)
        unexpected = [w for w in warnings_in(log) if not any(fragment in w for fragment in self.expected_logs)]
        if check_logs and unexpected:
            raise AssertionError("the sidecar logged unexpected warnings or errors:\n" + "\n".join(unexpected))
        return log

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class SidecarTestCase(unittest.TestCase):
    """Tests that share one sidecar process, started once for the class."""

    @classmethod
    def setUpClass(cls):
        cls.sidecar = Sidecar()

    @classmethod
    def tearDownClass(cls):
        cls.sidecar.stop()

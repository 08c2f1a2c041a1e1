"""A real redis-server (Debian's package) on a free loopback port, without persistence, that a test can stop and
start again empty on the same port, as a Redis pod without a volume restarts."""

import shutil
import subprocess
import time

from sidecar import free_port


class RedisServer:
    def __init__(self):
        self.binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.port = free_port()
        self.process = None
        self.start()

    @property
    def configuration(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 30
        for line in self.process.stdout:
            if "Ready to accept connections" in line:
                return
            if time.monotonic() > deadline:
                break
        self.stop()
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process.stdout.close()
            self.process = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

"""
Starts a sidecar build several times and measures what a pod pays for it before any traffic: the time from exec to
the first 200 of /readyz, and the resident memory once it has been idle for a while (after a first scrape, as
Prometheus would make).

Usage: /usr/bin/python3 bench/startup.py --runs 5 --idle-seconds 5 -- COMMAND [ARGS...]
Prints one JSON object: ready_ms (each run, and the median), idle_rss_kb (each run, and the median), and the
medians of its anonymous and file-backed parts.
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ready(port):
    """One GET /readyz on a raw socket: a client that costs less than what it measures."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def rss_kb(pid):
    """VmRSS, and its two parts: RssAnon (the process's own memory) and RssFile (pages of the mapped executable and
    libraries, shared through the page cache)."""
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "RssAnon", "RssFile"):
                fields[name] = int(value.split()[0])
    if "VmRSS" not in fields:
        raise RuntimeError("no VmRSS")
    return fields


def one_run(command, idle_seconds):
    grpc, http = free_port(), free_port()
    env = dict(os.environ,
               Kestrel__Endpoints__Grpc__Url=f"http://127.0.0.1:{grpc}",
               Kestrel__Endpoints__Http__Url=f"http://127.0.0.1:{http}",
               Logging__LogLevel__Default="Warning")
    with tempfile.TemporaryDirectory() as cwd:
        started = time.monotonic()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while not ready(http):
                if process.poll() is not None:
                    raise RuntimeError(f"{command[0]} exited with {process.returncode} before it was ready")
                if time.monotonic() - started > 60:
                    raise RuntimeError(f"{command[0]} was not ready within 60 s")
                time.sleep(0.001)
            ready_ms = (time.monotonic() - started) * 1000
            with socket.create_connection(("127.0.0.1", http)) as s:
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                while s.recv(65536):
                    pass
            time.sleep(idle_seconds)
            return ready_ms, rss_kb(process.pid)
        finally:
            process.terminate()
            process.wait(30)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle-seconds", type=float, default=5)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    # Each run starts in a folder of its own: paths given relative to here are made absolute.
    command = [os.path.abspath(a) if os.path.exists(a) else a for a in command]
    runs = [one_run(command, args.idle_seconds) for _ in range(args.runs)]
    ready_ms = [round(r[0], 1) for r in runs]
    idle = [r[1]["VmRSS"] for r in runs]
    print(json.dumps({"ready_ms": ready_ms, "ready_ms_median": statistics.median(ready_ms),
                      "idle_rss_kb": idle, "idle_rss_kb_median": statistics.median(idle),
                      "idle_anon_kb_median": statistics.median(r[1].get("RssAnon", 0) for r in runs),
                      "idle_file_kb_median": statistics.median(r[1].get("RssFile", 0) for r in runs)}))


if __name__ == "__main__":
    main()

"""Writes BENCHMARKS.md from the results of bench/run.sh (stdout): targets, measured figures, ratios."""

import json
import os
import platform
import re
import statistics
import subprocess
import sys


def main(results_path, dotnet_client_path, *bdn_paths):
    results = {}
    with open(results_path) as f:
        for line in f:
            entry = json.loads(line)
            results[entry["name"]] = entry["result"]

    def eps(name):
        return results[name]["events_per_second"]

    def cps(name):
        return results[name]["calls_per_second"]

    rows = []

    def row(target, measured, ratio, ok):
        met = "—" if ok is None else "yes" if ok else "**no**"
        rows.append(f"| {target} | {measured} | {ratio} | {met} |")

    stream_ratio = eps("sidecar_stream") / eps("noop_stream")
    row("streaming ingest ≥ 0.8× the no-op server (drift and memory store on)",
        f"{eps('sidecar_stream'):,.0f} events/s vs {eps('noop_stream'):,.0f}", f"{stream_ratio:.2f}×", stream_ratio >= 0.8)
    nodrift_ratio = eps("sidecar_stream_nodrift") / eps("noop_stream")
    row("streaming ingest, drift off (stated)", f"{eps('sidecar_stream_nodrift'):,.0f} events/s", f"{nodrift_ratio:.2f}×", None)
    batch_ratio = eps("sidecar_batch") / eps("noop_batch")
    row("batch ingest (stated)", f"{eps('sidecar_batch'):,.0f} events/s vs {eps('noop_batch'):,.0f}", f"{batch_ratio:.2f}×", None)
    unary_ratio = cps("sidecar_unary") / cps("noop_unary")
    row("unary ≥ 0.8× the no-op server's calls/s", f"{cps('sidecar_unary'):,.0f} calls/s vs {cps('noop_unary'):,.0f}",
        f"{unary_ratio:.2f}×", unary_ratio >= 0.8)
    def p99s(server):
        return [r["ack_p99_ms"] for name, r in sorted(results.items()) if name.startswith(f"{server}_open_loop_")]

    sidecar_p99s, noop_p99s = p99s("sidecar"), p99s("noop")
    p99, noop_p99 = statistics.median(sidecar_p99s), statistics.median(noop_p99s)
    rounds = lambda values: ", ".join(f"{v:.3f}" for v in values)
    row("open-loop 5,000 calls/s: acknowledgement p99 ≤ 1 ms",
        f"p99 {p99:.3f} ms, median of {len(sidecar_p99s)} rounds ({rounds(sidecar_p99s)}); no-op server {noop_p99:.3f} ms ({rounds(noop_p99s)})",
        f"{p99 / max(noop_p99, 1e-9):.2f}× the no-op p99", p99 <= 1.0)
    def core_per_1000(cpu):
        """CPU cores per 1,000 events/s of a cpu_at_20k run."""
        return cpu["cpu_seconds"] / cpu["load"]["seconds"] / (cpu["load"]["events_per_second"] / 1000)

    cpu = results["cpu_20k"]
    rate = cpu["load"]["events_per_second"]
    per_k = core_per_1000(cpu)
    row("CPU per 1,000 events/s (batches) ≤ 0.01 core", f"{per_k:.4f} core at {rate:,.0f} events/s", f"{per_k / 0.2:.3f}× an Istio sidecar's 0.20", per_k <= 0.01)
    rss_mb = results["ingest_rss"]["max_kb"] / 1024
    hwm_mb = results["peak_rss"]["kb"] / 1024
    row("resident memory ≤ 150 MB at peak ingest",
        f"{rss_mb:.0f} MB at most while ingesting flat out (median {results['ingest_rss']['median_kb'] / 1024:.0f} MB); "
        f"high-water mark {hwm_mb:.0f} MB incl. ramp-up",
        f"{rss_mb / 150:.2f}× the budget", rss_mb <= 150)
    scrape_ms = results["scrape"]["median_seconds"] * 1000
    row("a scrape of 10,000 series ≤ 10 ms",
        f"{scrape_ms:.1f} ms for {results['scrape']['series']:,} series (median of 21, steady state); "
        f"first scrape {results['scrape']['first_seconds'] * 1000:.1f} ms",
        f"{scrape_ms / 10:.2f}× the budget", scrape_ms <= 10)

    redis_eps = eps("sidecar_stream_redis")
    writes = results["redis_stream_writes"]
    reached = 1 - writes["dropped"] / writes["received"] if writes["received"] else 0
    row("streaming ingest with the redis store ≥ 0.8× the memory store (the same run)",
        f"{redis_eps:,.0f} events/s vs {eps('sidecar_stream'):,.0f}; {reached:.1%} of their predictions reached Redis "
        f"(the rest dropped by the full write queue, counted)",
        f"{redis_eps / eps('sidecar_stream'):.2f}×", redis_eps >= 0.8 * eps("sidecar_stream"))
    steady = results["redis_steady"]
    row("the redis store at a steady 20,000 events/s (stated)",
        f"{steady['load']['events_per_second']:,.0f} events/s sent; {steady['dropped']:,.0f} of {steady['received']:,.0f} "
        f"predictions dropped by the write queue; {steady['pending']:,} distinct ids pending in Redis after the run "
        f"(the load generator cycles a pool of 20,000 events, so ids repeat and a repeated id keeps its first prediction)",
        "—", None)
    cost = results["redis_cost"]
    row("Redis per prediction / per label (stated)",
        f"{cost['commands_per_prediction']:.3f} commands and {cost['bytes_per_prediction']:.0f} bytes on the wire per prediction; "
        f"{cost['commands_per_label']:.3f} commands and {cost['bytes_per_label']:.0f} bytes per label (batches of 500); "
        f"{cost['memory_per_pending']:.0f} bytes of Redis memory per pending prediction ({cost['predictions']:,} predictions)",
        "—", None)
    handover = results["redis_handover"]
    row("a replica stopped (SIGTERM) after that run (stated)",
        f"exited {handover['stop_ms']:,} ms after the signal, having handed {handover['records']} record of "
        f"{handover['bytes']:,} bytes of windows to Redis for a replica that stays; its pending predictions stay in Redis. "
        f"Killed instead, it would lose its windows' share of the fleet figures",
        "—", None)
    row("series per replica for the load generator's traffic (stated)",
        f"{results['replica_series']['series']:,}; a fleet of N replicas stores N times these", "—", None)

    # Footprint: the shipped native build against the JIT build of the same sources, in the same run.
    rows.append("| **footprint: shipped native AOT build vs the JIT build** | | | |")
    startup, startup_jit = results["startup_shipped"], results["startup_jit"]
    row("ready (`/readyz` 200) ≤ 100 ms after exec",
        f"{startup['ready_ms_median']:.0f} ms median of {len(startup['ready_ms'])} starts (max {max(startup['ready_ms']):.0f}); "
        f"JIT build {startup_jit['ready_ms_median']:.0f} ms",
        f"{startup['ready_ms_median'] / startup_jit['ready_ms_median']:.2f}× the JIT build", startup["ready_ms_median"] <= 100)
    idle, idle_jit = startup["idle_rss_kb_median"] / 1024, startup_jit["idle_rss_kb_median"] / 1024
    anon, file = startup.get("idle_anon_kb_median", 0) / 1024, startup.get("idle_file_kb_median", 0) / 1024
    row("idle resident memory ≤ 32 MB",
        f"{idle:.1f} MB (5 s after start and a scrape: {anon:.1f} MB anonymous, {file:.1f} MB of mapped files); "
        f"JIT build {idle_jit:.1f} MB",
        f"{idle / idle_jit:.2f}× the JIT build", idle <= 32)
    rounds_of = lambda build: [results[name] for name in sorted(results) if name.startswith(f"footprint_{build}_")]
    shipped_rounds, jit_rounds = rounds_of("shipped"), rounds_of("jit")
    peak = max(r["peak_kb"] for r in shipped_rounds) / 1024
    peak_jit = max(r["peak_kb"] for r in jit_rounds) / 1024
    row("peak resident memory ≤ 64 MB flat out over streams (default settings)",
        f"{peak:.0f} MB, the highest of {len(shipped_rounds)} fresh starts (VmHWM, warm-up included); JIT build {peak_jit:.0f} MB",
        f"{peak / peak_jit:.2f}× the JIT build", peak <= 64)
    # Each round runs the two builds one after the other; the ratio is taken within a round, where both saw the
    # same state of the shared host, and the median of those ratios is the figure.
    streams = [r["stream"]["events_per_second"] for r in shipped_rounds]
    streams_jit = [r["stream"]["events_per_second"] for r in jit_rounds]
    ratio = statistics.median(a / b for a, b in zip(streams, streams_jit))
    row("streaming throughput ≥ 0.9× the JIT build's",
        f"median of the ratios of {len(streams)} rounds, builds alternating; events/s by round: "
        + ", ".join(f"{a:,.0f} vs {b:,.0f}" for a, b in zip(streams, streams_jit)),
        f"{ratio:.2f}×", ratio >= 0.9)
    per_k_shipped = statistics.median(core_per_1000(r["cpu"]) for r in shipped_rounds)
    per_k_jit = statistics.median(core_per_1000(r["cpu"]) for r in jit_rounds)
    row("CPU per 1,000 events/s ≤ 0.01 core (native build)", f"{per_k_shipped:.4f} core; JIT build {per_k_jit:.4f}",
        f"{per_k_shipped / per_k_jit:.2f}× the JIT build", per_k_shipped <= 0.01)
    image = results["image"]
    row("image ≤ 40 MB", f"{image['image_bytes'] / 1e6:.1f} MB (the executable {image['executable_bytes'] / 1e6:.1f} MB)",
        f"{image['image_bytes'] / 40e6:.2f}× the budget", image["image_bytes"] <= 40e6)

    # The tap: the same upstream called directly and through the tap, alternating rounds.
    rows.append("| **tap: calls through the tap vs the same calls direct (upstream answering at once)** | | | |")

    def runs(prefix):
        return [results[name] for name in sorted(results) if name.startswith(prefix)]

    def tap_rounds(prefix, stat):
        return [run[stat] for run in runs(prefix)]

    for kind, label in (("rest", "v2 REST"), ("grpc", "v2 gRPC")):
        direct_p50, tapped_p50 = (statistics.median(tap_rounds(f"tap_{w}_{kind}_", "p50_ms")) for w in ("direct", "tapped"))
        direct_p99, tapped_p99 = (statistics.median(tap_rounds(f"tap_{w}_{kind}_", "p99_ms")) for w in ("direct", "tapped"))
        added_p99 = tapped_p99 - direct_p99
        row(f"tap, {label} at 1,000 calls/s open loop: added p99 ≤ 0.2 ms",
            f"p50 {direct_p50:.3f} → {tapped_p50:.3f} ms (+{tapped_p50 - direct_p50:.3f}), "
            f"p99 {direct_p99:.3f} → {tapped_p99:.3f} ms (+{added_p99:.3f}); median of {len(tap_rounds(f'tap_direct_{kind}_', 'p99_ms'))} rounds",
            f"{tapped_p99 / max(direct_p99, 1e-9):.2f}× the direct p99", added_p99 <= 0.2)
    direct_ttft = statistics.median(tap_rounds("tap_direct_stream_", "p50_ms"))
    tapped_ttft = statistics.median(tap_rounds("tap_tapped_stream_", "p50_ms"))
    row("tap, streamed chat completion: added time to first token (p50) ≤ 0.2 ms",
        f"{direct_ttft:.3f} → {tapped_ttft:.3f} ms (+{tapped_ttft - direct_ttft:.3f}); p99 "
        f"{statistics.median(tap_rounds('tap_direct_stream_', 'p99_ms')):.3f} → {statistics.median(tap_rounds('tap_tapped_stream_', 'p99_ms')):.3f} ms",
        f"{tapped_ttft / max(direct_ttft, 1e-9):.2f}×", tapped_ttft - direct_ttft <= 0.2)
    direct_run, tapped_run = results["tap_flat_direct"], results["tap_flat_tapped"]
    flat_direct, flat_tapped = direct_run["load"]["calls_per_second"], tapped_run["load"]["calls_per_second"]
    flat_forward = results["tap_forward_only_flat"]["calls_per_second"]
    row("tap, v2 REST flat out (32 callers): throughput ≥ 0.9× direct",
        f"{flat_tapped:,.0f} calls/s vs {flat_direct:,.0f}; forwarding alone (observation off) {flat_forward:,.0f}",
        f"{flat_tapped / flat_direct:.2f}×", flat_tapped >= 0.9 * flat_direct)
    # CPU per call of each party: when client, upstream and tap share the cores, the tapped calls/s can be at most
    # direct × (client + upstream) / (client + upstream + tap).
    per_call_us = lambda run, seconds: seconds / run["load"]["calls"] * 1e6
    client_direct = per_call_us(direct_run, direct_run["load"]["client_cpu_seconds"])
    upstream_direct = per_call_us(direct_run, direct_run["upstream_cpu_seconds"])
    client_tapped = per_call_us(tapped_run, tapped_run["load"]["client_cpu_seconds"])
    upstream_tapped = per_call_us(tapped_run, tapped_run["upstream_cpu_seconds"])
    sidecar_tapped = per_call_us(tapped_run, tapped_run["sidecar_cpu_seconds"])
    bound = (client_tapped + upstream_tapped) / (client_tapped + upstream_tapped + sidecar_tapped)
    row("tap, CPU per call flat out (stated)",
        f"direct: client {client_direct:.1f} µs + upstream {upstream_direct:.1f} µs; tapped: client {client_tapped:.1f} µs "
        f"+ upstream {upstream_tapped:.1f} µs + tap {sidecar_tapped:.1f} µs. Sharing the cores, the tapped calls/s can be "
        f"at most {bound:.2f}× direct", "—", None)
    forward = results["tap_forward_only_rest"]
    row("tap, forwarding alone (observation off) at 1,000 calls/s (stated)",
        f"p50 {forward['p50_ms']:.3f} ms, p99 {forward['p99_ms']:.3f} ms", "—", None)
    # The sidecar's CPU at 1,000 calls/s, and the same on a sidecar whose thread pool does not spin, alternating rounds.
    per_k = lambda run: run["cpu_seconds"] / run["load"]["seconds"] / (run["load"]["calls_per_second"] / 1000)
    default_runs, nospin_runs = runs("tap_cpu_default_"), runs("tap_cpu_nospin_")
    tap_per_k = statistics.median(per_k(r) for r in default_runs)
    row("tap, sidecar CPU per 1,000 calls/s (v2 REST, observed; stated)",
        f"{tap_per_k:.3f} core, median of {len(default_runs)} runs of {default_runs[0]['load']['seconds']:.0f} s "
        "(2,000 warm-up calls each included): "
        + ", ".join(f"{per_k(r):.3f}" for r in default_runs), "—", None)
    nospin_per_k = statistics.median(per_k(r) for r in nospin_runs)
    flat_nospin_run = results["tap_flat_nospin"]
    flat_nospin = flat_nospin_run["load"]["calls_per_second"]
    p50 = lambda runs: statistics.median(r["load"]["p50_ms"] for r in runs)
    p99 = lambda runs: statistics.median(r["load"]["p99_ms"] for r in runs)
    row("tap, with `DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0`, rounds alternating with the default (stated)",
        f"sidecar CPU per 1,000 calls/s {nospin_per_k:.3f} core (" + ", ".join(f"{per_k(r):.3f}" for r in nospin_runs)
        + f"); p50 {p50(nospin_runs):.3f} ms against {p50(default_runs):.3f}, p99 {p99(nospin_runs):.3f} ms against "
        f"{p99(default_runs):.3f}; flat out {flat_nospin:,.0f} calls/s against {flat_tapped:,.0f}, "
        f"{per_call_us(flat_nospin_run, flat_nospin_run['sidecar_cpu_seconds']):.1f} µs of CPU per call against {sidecar_tapped:.1f}",
        f"{nospin_per_k / tap_per_k:.2f}× the default's CPU", None)
    # How far two runs of the same direct calls differ here: the resolution at which an added latency can be read.
    for kind, label in (("rest", "v2 REST"), ("grpc", "v2 gRPC")):
        spread = {stat: sorted(abs(a - b) for a, b in zip(tap_rounds(f"tap_direct_{kind}_", stat), tap_rounds(f"tap_direct2_{kind}_", stat)))
                  for stat in ("p50_ms", "p99_ms")}
        row(f"noise: {label} direct, measured twice in each round (stated)",
            f"the two runs differ by p50 {statistics.median(spread['p50_ms']):.3f} ms, p99 {statistics.median(spread['p99_ms']):.3f} ms "
            f"(median over {len(spread['p99_ms'])} rounds; largest p99 difference {spread['p99_ms'][-1]:.3f} ms)", "—", None)
    # The reference proxy: what forwarding alone costs on this machine for a proxy in C (bench/haproxy.cfg).
    proxy = {kind: {stat: statistics.median(tap_rounds(f"tap_haproxy_{kind}_", stat)) for stat in ("p50_ms", "p99_ms")}
             for kind in ("rest", "grpc", "stream")}
    added = lambda kind, stat: proxy[kind][stat] - statistics.median(tap_rounds(f"tap_direct_{kind}_", stat))
    proxy_run = results["tap_flat_haproxy"]
    row("reference proxy (HAProxy, forwarding only), same calls and rounds (stated)",
        f"v2 REST p50 {added('rest', 'p50_ms'):+.3f} ms, p99 {added('rest', 'p99_ms'):+.3f} ms; "
        f"v2 gRPC p50 {added('grpc', 'p50_ms'):+.3f} ms, p99 {added('grpc', 'p99_ms'):+.3f} ms; "
        f"time to first token {added('stream', 'p50_ms'):+.3f} ms; flat out {proxy_run['load']['calls_per_second']:,.0f} calls/s "
        f"({proxy_run['load']['calls_per_second'] / flat_direct:.2f}× direct), "
        f"proxy {per_call_us(proxy_run, proxy_run['proxy_cpu_seconds']):.1f} µs of CPU per call", "—", None)
    observed = results["tap_observed"]
    row("tap, every call observed or its skip counted (stated)",
        f"{observed['events']:,.0f} events + {observed['skipped']:,.0f} skipped of {observed['calls']:,.0f} calls", "—", None)

    bdn_tables = {}
    for path in bdn_paths:
        if path:
            with open(path) as f:
                # BenchmarkDotNet names its reports <Namespace>.<Class>-report-github.md
                name = os.path.basename(path).split("-report")[0].split(".")[-1]
                bdn_tables[name] = "".join(line for line in f if line.startswith("|"))
    bdn_table = bdn_tables.get("RecordingBenchmarks", "")
    wire_table = bdn_tables.get("WireReadingBenchmarks", "")
    python = results["python_client"]
    paced = results.get("python_client_paced")
    paced_rows = "" if paced is None else f"""
| Python at {paced['rate']:,}/s, in-process prometheus_client | {paced['in_process']['process_us']:.2f} µs | {paced['in_process']['caller_us']:.2f} µs | |
| Python at {paced['rate']:,}/s, mlmonitoring client | {paced['client']['process_us']:.2f} µs ({paced['ratio_process']:.2f}×) | {paced['client']['caller_us']:.2f} µs | {paced['client']['delivered']:,} of {paced['predictions']:,} |"""
    with open(dotnet_client_path) as f:
        dotnet_text = f.read().strip()

    cpu_model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu_model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    dotnet_version = subprocess.run(["dotnet", "--version"], capture_output=True, text=True).stdout.strip()

    print(f"""# Benchmarks

Written by `bench/run.sh` on this machine; every figure below comes from one run of it, with the load generator,
the no-op server and the sidecar sharing the same cores.

## Machine

| | |
|---|---|
| CPU | {cpu_model}, {os.cpu_count()} cores |
| OS | {platform.platform()} |
| .NET SDK | {dotnet_version} |

## Method

- **Transport floor.** `bench/MlMonitoring.NoopServer` is a gRPC server compiled from the same contract that
  acknowledges every event and records nothing; it parses requests with the generated Google.Protobuf code, as any
  gRPC service would. The sidecar reads prediction requests with its own wire reader into pooled events (see
  *Reading the wire* below), so part of what it spends on recording it saves on parsing. The load generator (`bench/MlMonitoring.LoadGen`, synthetic traffic
  of three models with features, 3% errors) runs against it and against the sidecar one after the other, 10 s
  each, flat out: 4 streams or batch callers with batches of 500, or 16 unary callers.
- **Sidecar.** The shipped build (native AOT, see *Footprint*), default settings: drift on, memory store on (every event carries a prediction
  id), feature statistics and sketches on. The same stream run is repeated with `Monitoring__Drift__Enabled=false`.
- **Open loop.** Unary calls at 5,000 calls/s sent by one dispatcher thread that wakes every millisecond and sends
  every call that has come due without waiting for answers (a slow server cannot slow the schedule; it shows up
  as latency). Latency runs from each call's send to its answer; 3 s of the same load first, unmeasured, in the
  same loop. Three rounds of 10 s, sidecar and no-op server alternating; the median round's p99 is reported. The
  generator compacts its heap before each round and allows only background full collections during it.
- **CPU.** The sidecar's own CPU time (`/proc/<pid>/stat`) over a 10 s run at 20,000 events/s in batches of 500.
- **Memory.** The sidecar's resident set sampled every 100 ms during the measured flat-out stream and batch runs
  (after warm-up), and its high-water mark (`VmHWM`), which also holds the first seconds of load, when the
  collector has not yet tuned its budgets to the allocation rate.
- **Warm-up.** Before it is measured, each server gets the same 3 s of streaming and 2 s of unary calls, unmeasured.
- **Scrape.** A sidecar holding about 10,000 series (82 model versions, 10 classes each); median of 21 scrapes of
  `/metrics` with curl after 200 unmeasured ones (the native build compiles nothing at run time; the 200 remain so
  that the figure compares with runs of the JIT build, which needed about a hundred to reach its steady speed). The
  very first scrape is stated beside the median.
- **Shared state.** The same flat-out stream against a sidecar with the redis store (a local redis-server),
  with how many of its predictions reached Redis before the write queue (100,000) filled. Then, on an empty
  Redis, 20,000 predictions with ids and their 20,000 labels in batches of 500: Redis' own counters
  (`INFO commandstats`, `total_net_input_bytes` + `total_net_output_bytes`, `used_memory`) read between the phases;
  they include the sidecar's own sweeps and baseline reads during the run.
- **Footprint.** The shipped native AOT executable (`artifacts/sidecar/`, the one the image holds and the tests
  start) against the JIT build of the same sources (`dotnet MlMonitoring.Sidecar.dll`), both run with the
  environment the image sets (its GC settings), so that the build is the one difference. Start: `bench/startup.py`
  execs each build 7 times from an empty folder, times exec to the first 200 of `/readyz` (polled every
  millisecond on a raw socket), scrapes once and reads `VmRSS` 5 s later, with its two parts: `RssAnon` (the
  process's own memory) and `RssFile` (pages of the mapped executable and libraries, which the page cache holds
  and shares). Load: each build started fresh, given the warm-up above, 10 s flat out over streams (`VmHWM` after
  it), then 10 s at 20,000 events/s (CPU time); five rounds, builds alternating.
- **Tap.** `bench/MlMonitoring.TapBench serve` is an upstream that answers at once (a small v2 REST answer, a small
  `ModelInfer` answer, an 8-chunk SSE stream); `load` calls it directly and through a tapping sidecar (the shipped
  build, observation on, the iris calls unmapped). Open loop at 1,000 calls/s for 10 s, each call timed from its
  own send to its answer, direct and tapped alternating, 3 rounds, each round calling the upstream directly twice
  (the difference between those two runs is the noise an added latency is read against); time to first token: 200 streamed chat
  completions one after another, from the send to the first chunk with text; flat out: 32 callers for 10 s. Then a
  sidecar whose protocol filter lets the v2 calls pass unobserved: forwarding's share of the cost. The client, the
  upstream and the sidecar share the machine's cores. The same calls, in the same rounds, go through a reference
  proxy too: Debian's HAProxy (`bench/haproxy.cfg`, HTTP mode, keep-alive to the upstream, HTTP/2 for gRPC), which
  forwards and observes nothing: what any proxy costs on this machine. Beside the tapping sidecar, a second one
  started with `DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0`, whose idle thread-pool workers sleep at once instead
  of spinning for the next call: flat out after the first, then 3 runs of each at 1,000 calls/s with their CPU
  time, alternating.
- **Per-event path.** BenchmarkDotNet (short job, memory diagnoser) on `BatchIngestor.Ingest` through the real
  services of the host with the OpenTelemetry SDK listening.

## Targets

| target | measured | ratio | met |
|---|---|---|---|
""" + "\n".join(rows) + f"""

## Per-event recording path (BenchmarkDotNet)

A classification with five numeric features; `RecordEventWithJoinStore` adds a prediction id (memory store).
`Otlp`: OTLP export configured beside `/metrics`, so the SDK aggregates each measurement twice (once per exporter).
Target: ≤ 1 µs and zero allocations per event.

{bdn_table}
## Reading the wire (BenchmarkDotNet)

A streamed batch of 500 such events, half with a prediction id, per event: the generated parser (what the no-op
server and any generated service run) against the sidecar's `PredictionWireReader` into a pooled batch, which
allocates only the prediction ids.

{wire_table}
## Client overhead

What the model process spends per prediction, from the first record to a flush that waited for every
acknowledgement (process CPU: all threads), against in-process instrumentation in the same run.

| | process CPU per prediction | caller thread per call | delivered |
|---|---|---|---|
| Python, in-process prometheus_client (the guide's four calls) | {python['in_process']['process_us']:.2f} µs | {python['in_process']['caller_us']:.2f} µs | |
| Python, mlmonitoring client | {python['client']['process_us']:.2f} µs ({python['ratio_process']:.2f}×) | {python['client']['caller_us']:.2f} µs | {python['client']['delivered']:,} of {python['predictions']:,} |{paced_rows}

Paced rows: predictions at a steady rate, as in a model server that is not saturated (sleeping between 10 ms
slices); what the pacing alone costs the process is measured in the same run and taken off both sides.

.NET (`bench/MlMonitoring.ClientOverhead`), flat out, then paced at 1,000 predictions/s as in a model server that
is not saturated (both sides sleep between 10 ms slices; what the pacing alone costs is measured and taken off;
JIT tiering off for this run, so that background compilation is not counted). Paced, what each batch costs — a
stream write, an acknowledgement and the thread wake-ups around them — is spread over one `FlushInterval` (1 s)
of predictions:

```
{dotnet_text}
```
""")


if __name__ == "__main__":
    main(*sys.argv[1:])

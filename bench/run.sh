#!/usr/bin/env bash
# Runs every benchmark side by side on this machine and writes BENCHMARKS.md:
#   the load generator against the no-op server (the gRPC transport floor) and against the sidecar, for streams,
#   batches and unary calls; the sidecar with drift off; open-loop unary at 5,000 calls/s; CPU per 1,000 events/s;
#   resident memory at peak; the time of a scrape of 10,000 series; the tap's added latency, time to first token,
#   throughput and CPU against direct calls and a reference proxy (HAProxy); BenchmarkDotNet on the per-event
#   path; and the client overhead benchmarks (Python and .NET) against in-process instrumentation.
# Usage: bench/run.sh [--smoke]   (--smoke: one second per run, no BenchmarkDotNet; for CI, writes nothing, or its
#   report to the file BENCH_SMOKE_REPORT names)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
smoke=false
[ "${1:-}" = "--smoke" ] && smoke=true
duration=10
$smoke && duration=1

dotnet build MlMonitoring.Sidecar.sln -c Release -v quiet -nologo >/dev/null
# What ships: the native executable the tests start and the image holding it (up to date, seconds).
./build.sh >/dev/null
bin=Release/net10.0
# The shipped executable runs with the environment its image sets, as in a pod; its GC settings are compiled in,
# so that is the bare executable's too.
source image/shipped.sh
load_shipped_env
# The JIT build of the same sources, measured beside the shipped one with the same GC settings (given to it as
# variables, the executable has them compiled in), so that the build is the only difference between them.
jit=(env "${shipped_env[@]}" DOTNET_GCgen0size=400000 DOTNET_GCConserveMemory=5 DOTNET_GCRegionSize=100000
  dotnet "$root/src/MlMonitoring.Sidecar/bin/$bin/MlMonitoring.Sidecar.dll")
loadgen="dotnet bench/MlMonitoring.LoadGen/bin/$bin/MlMonitoring.LoadGen.dll"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

source bench/ports.sh

wait_http() {
  for _ in $(seq 1 300); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "not ready: $1" >&2; tail -20 "$work"/*.log >&2; return 1
}

# start_sidecar NAME [ENV=VALUE...]: starts the shipped build (the JIT build when SIDECAR_BUILD=jit), from a folder of
# its own; sets ${NAME}_grpc, ${NAME}_http, ${NAME}_pid
start_sidecar() {
  local name=$1; shift
  local grpc http command=(env "${shipped_env[@]}" "$shipped_executable")
  [ "${SIDECAR_BUILD:-shipped}" = jit ] && command=("${jit[@]}")
  grpc=$(free_port); http=$(free_port)
  mkdir -p "$work/cwd"
  (cd "$work/cwd" && exec env "$@" Kestrel__Endpoints__Grpc__Url="http://127.0.0.1:$grpc" \
     Kestrel__Endpoints__Http__Url="http://127.0.0.1:$http" Logging__LogLevel__Default=Warning \
     "${command[@]}" >"$work/$name.log" 2>&1) &
  local pid=$!
  pids+=("$pid")
  wait_http "http://127.0.0.1:$http/readyz"
  printf -v "${name}_grpc" '%s' "$grpc"; printf -v "${name}_http" '%s' "$http"; printf -v "${name}_pid" '%s' "$pid"
}

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# The process of a started sidecar (the subshell execs it, so it is the same pid).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# cpu_seconds_since PID TICKS: the process's CPU seconds since cpu_ticks gave TICKS.
cpu_seconds_since() { awk "BEGIN { print ($(cpu_ticks "$1") - $2) / $(getconf CLK_TCK) }"; }
peak_rss_kb() { awk '/VmHWM/ { print $2 }' "/proc/$1/status"; }

run() { $loadgen --json --duration "$duration" "$@"; }

# cpu_at_20k PID GRPC_PORT: 20,000 events/s in batches of 500; the load and the sidecar's own CPU time over the run.
cpu_at_20k() {
  local ticks r
  ticks=$(cpu_ticks "$1")
  r=$(run --target "http://127.0.0.1:$2" --mode batch --batch-size 500 --rate 20000 --concurrency 2)
  echo "{\"load\": $r, \"cpu_seconds\": $(cpu_seconds_since "$1" "$ticks")}"
}

# JIT tiering, connection set-up and the thread pool's ramp-up happen in the first seconds of a run; each server gets
# the same unmeasured warm-up before it is measured.
warm() {
  $smoke && return 0
  $loadgen --json --duration 3 --target "$1" --mode stream --batch-size 500 >/dev/null
  $loadgen --json --duration 2 --target "$1" --mode unary --concurrency 16 >/dev/null
}

# sample_rss PID FILE: the resident set every 100 ms, in kB, until killed.
sample_rss() { while true; do awk '/VmRSS/ { print $2 }' "/proc/$1/status" >>"$2" 2>/dev/null || return 0; sleep 0.1; done; }

results="$work/results.jsonl"
record() { echo "{\"name\": \"$1\", \"result\": $2}" >>"$results"; }

# --- the transport floor and the sidecar, side by side -------------------------------------------------------
noop_port=$(free_port)
(cd "bench/MlMonitoring.NoopServer/bin/$bin" && exec dotnet MlMonitoring.NoopServer.dll --urls "http://127.0.0.1:$noop_port" >"$work/noop.log" 2>&1) &
noop_pid=$!; pids+=("$noop_pid")
sleep 2
start_sidecar full
warm "http://127.0.0.1:$noop_port"
warm "http://127.0.0.1:$full_grpc"

for mode in stream batch; do
  record "noop_$mode" "$(run --target "http://127.0.0.1:$noop_port" --mode $mode --batch-size 500)"
  : >"$work/rss_$mode"
  sample_rss "$full_pid" "$work/rss_$mode" & sampler=$!
  record "sidecar_$mode" "$(run --target "http://127.0.0.1:$full_grpc" --mode $mode --batch-size 500)"
  kill "$sampler"; wait "$sampler" 2>/dev/null || true
done
record ingest_rss "{\"max_kb\": $(sort -n "$work"/rss_stream "$work"/rss_batch | tail -1), \"median_kb\": $(sort -n "$work"/rss_stream "$work"/rss_batch | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')}"
record noop_unary "$(run --target "http://127.0.0.1:$noop_port" --mode unary --concurrency 16)"
record sidecar_unary "$(run --target "http://127.0.0.1:$full_grpc" --mode unary --concurrency 16)"
# Open loop in alternating rounds: the host's noise comes and goes over minutes (the no-op server's p99 moved
# between 0.5 and 1.6 ms from one run to the next), and alternating gives both servers the same share of it.
rounds=3
$smoke && rounds=1
for round in $(seq 1 $rounds); do
  record "sidecar_open_loop_$round" "$(run --target "http://127.0.0.1:$full_grpc" --mode unary --rate 5000 --warmup 3)"
  record "noop_open_loop_$round" "$(run --target "http://127.0.0.1:$noop_port" --mode unary --rate 5000 --warmup 3)"
done

record cpu_20k "$(cpu_at_20k "$full_pid" "$full_grpc")"
record peak_rss "{\"kb\": $(peak_rss_kb "$full_pid")}"
# The series one replica exports for the load generator's traffic (three models, features, errors): a fleet of N
# replicas stores N times these, plus one series per model version (and class, feature, bin) per fleet rule.
record replica_series "{\"series\": $(curl -s "http://127.0.0.1:$full_http/metrics" | grep -vc '^#')}"
stop "$full_pid"

start_sidecar nodrift Monitoring__Drift__Enabled=false
warm "http://127.0.0.1:$nodrift_grpc"
record sidecar_stream_nodrift "$(run --target "http://127.0.0.1:$nodrift_grpc" --mode stream --batch-size 500)"
stop "$nodrift_pid"

# --- footprint: the shipped native build against the JIT build, side by side ---------------------------------
# What a pod pays before any traffic: exec to the first 200 of /readyz, and resident memory idle (5 s after a scrape).
startup_runs=7
$smoke && startup_runs=1
record startup_shipped "$(/usr/bin/python3 bench/startup.py --runs $startup_runs -- env "${shipped_env[@]}" "$shipped_executable")"
record startup_jit "$(/usr/bin/python3 bench/startup.py --runs $startup_runs -- "${jit[@]}")"
# Flat out over streams with default settings (drift on, memory store): throughput and the peak resident set
# over the whole life of the process; then CPU at a steady 20,000 events/s. Each build is started fresh, warmed the
# same way, and run five times in alternation so that both get the same share of the host's noise.
footprint_rounds=5
$smoke && footprint_rounds=1
for round in $(seq 1 $footprint_rounds); do
  for build in shipped jit; do
    SIDECAR_BUILD=$build start_sidecar "fp_$build"
    pid_var="fp_${build}_pid"; grpc_var="fp_${build}_grpc"
    warm "http://127.0.0.1:${!grpc_var}"
    r=$(run --target "http://127.0.0.1:${!grpc_var}" --mode stream --batch-size 500)
    peak=$(peak_rss_kb "${!pid_var}")
    record "footprint_${build}_$round" "{\"stream\": $r, \"peak_kb\": $peak, \"cpu\": $(cpu_at_20k "${!pid_var}" "${!grpc_var}")}"
    stop "${!pid_var}"
  done
done
record image "{\"executable_bytes\": $(stat -c %s "$shipped_executable"), \"image_bytes\": $(podman --storage-driver vfs image inspect --format '{{.Size}}' "$shipped_image")}"

# --- shared state: the redis store against the memory store, and what Redis costs per prediction and label ---
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >"$work/redis.log" 2>&1 &
redis_pid=$!; pids+=("$redis_pid")
for _ in $(seq 1 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
start_sidecar redisstore Monitoring__SharedState__Store=redis Monitoring__SharedState__RedisConfiguration="127.0.0.1:$redis_port"
warm "http://127.0.0.1:$redisstore_grpc"
record sidecar_stream_redis "$(run --target "http://127.0.0.1:$redisstore_grpc" --mode stream --batch-size 500)"
# How many of the predictions streamed flat out reached Redis: the write queue drops what Redis cannot take (counted).
metric_total() { curl -s "$1" | awk -v name="$2" '$1 ~ "^"name"({|$)" { sum += $2 } END { print sum + 0 }'; }
record redis_stream_writes "{\"received\": $(metric_total "http://127.0.0.1:$redisstore_http/metrics" ml_sidecar_events_received_total), \"dropped\": $(metric_total "http://127.0.0.1:$redisstore_http/metrics" ml_sidecar_shared_state_dropped_total)}"
stop "$redisstore_pid"
# The same store at a steady 20,000 events/s (batches of 500), a busy model's rate: what reaches Redis then.
redis-cli -p "$redis_port" flushall >/dev/null
start_sidecar redissteady Monitoring__SharedState__Store=redis Monitoring__SharedState__RedisConfiguration="127.0.0.1:$redis_port"
r=$(run --target "http://127.0.0.1:$redissteady_grpc" --mode batch --batch-size 500 --rate 20000 --concurrency 2)
sleep 1
record redis_steady "{\"load\": $r, \"received\": $(metric_total "http://127.0.0.1:$redissteady_http/metrics" ml_sidecar_events_received_total), \"dropped\": $(metric_total "http://127.0.0.1:$redissteady_http/metrics" ml_sidecar_shared_state_dropped_total), \"pending\": $(redis-cli -p "$redis_port" zcard '{mlmon:}pending')}"
stop "$redissteady_pid"
redis-cli -p "$redis_port" flushall >/dev/null
start_sidecar redisfleet Monitoring__SharedState__Store=redis Monitoring__SharedState__RedisConfiguration="127.0.0.1:$redis_port"
shared_n=20000
$smoke && shared_n=2000
record redis_cost "$(PYTHONPATH=clients/python /usr/bin/python3 bench/shared_state_cost.py "$redisfleet_grpc" "$redis_port" "$shared_n")"
# What stopping costs a replica: SIGTERM to exit, its windows handed over to the fleet through Redis on the way.
stop_started=$(date +%s%N)
stop "$redisfleet_pid"
stop_ms=$(( ($(date +%s%N) - stop_started) / 1000000 ))
record redis_handover "{\"stop_ms\": $stop_ms, \"records\": $(redis-cli -p "$redis_port" hlen '{mlmon:}handed-over-windows'), \"bytes\": $(redis-cli -p "$redis_port" --raw hvals '{mlmon:}handed-over-windows' | head -c -1 | wc -c)}"
stop "$redis_pid"

# --- a scrape of 10,000 series --------------------------------------------------------------------------------
start_sidecar scrape Monitoring__Limits__MaxModels=1000 Monitoring__Limits__MaxClassesPerModel=1000 Monitoring__Drift__Enabled=false
PYTHONPATH=clients/python /usr/bin/python3 - "$scrape_grpc" <<'EOF'
import sys
import grpc
from mlmonitoring.v1 import monitoring_pb2 as pb, monitoring_pb2_grpc as rpc
stub = rpc.PredictionMonitorStub(grpc.insecure_channel(f"127.0.0.1:{sys.argv[1]}"))
# 82 model versions x (1 request series + 11 latency series + 10 classes x (10 confidence series + 1 class series)) ≈ 10,000
for m in range(82):
    batch = pb.PredictionBatch()
    for c in range(10):
        e = batch.events.add(model_name=f"model-{m:03d}", model_version="v1", latency_seconds=0.02)
        e.classification.predicted_class = f"class-{c}"
        e.classification.confidence = 0.9
    stub.RecordPredictions(batch)
EOF
# Steady state after 200 scrapes (what the JIT build needed to finish tiering; the native build needs none, and the
# first scrape is stated beside it).
first=$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$scrape_http/metrics")
series=$(curl -s "http://127.0.0.1:$scrape_http/metrics" | grep -vc '^#')
$smoke || for _ in $(seq 1 200); do curl -s -o /dev/null "http://127.0.0.1:$scrape_http/metrics"; done
times=$(for _ in $(seq 1 21); do curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$scrape_http/metrics"; done | sort -n)
median=$(echo "$times" | sed -n 11p)
record scrape "{\"series\": $series, \"median_seconds\": $median, \"first_seconds\": $first}"
stop "$scrape_pid"

# --- the tap: what standing in front of a model server costs its callers --------------------------------------
# An upstream that answers at once (small v2 REST and gRPC answers, a short SSE stream), called directly and through
# the tap in alternating rounds; then flat out; then the tap with observation off (its protocol filter lets the v2
# calls pass unobserved), to tell forwarding's share from observation's.
tapbench="dotnet $root/bench/MlMonitoring.TapBench/bin/$bin/MlMonitoring.TapBench.dll"
up_http=$(free_port); up_grpc=$(free_port)
(cd "$work" && exec $tapbench serve --http-port "$up_http" --grpc-port "$up_grpc" >"$work/upstream.log" 2>&1) &
upstream_pid=$!
pids+=("$upstream_pid")
wait_http "http://127.0.0.1:$up_http/v2/health/ready"
# tap_settings PROTOCOL: the environment of a sidecar tapping the upstream; sets tap_port and tap_grpc_port
tap_settings() {
  tap_port=$(free_port); tap_grpc_port=$(free_port)
  tap_env=(Monitoring__Tap__Listen="http://127.0.0.1:$tap_port" Monitoring__Tap__Upstream="http://127.0.0.1:$up_http"
    Monitoring__Tap__GrpcListen="http://127.0.0.1:$tap_grpc_port" Monitoring__Tap__GrpcUpstream="http://127.0.0.1:$up_grpc"
    Monitoring__Tap__Protocol="$1")
}
tap_seconds=10; tap_calls=200; tap_rounds=3
$smoke && { tap_seconds=1; tap_calls=20; tap_rounds=1; }
tapload() { $tapbench load --duration "$tap_seconds" --calls "$tap_calls" "$@"; }
# tapload_with_cpu NAME PORT LOAD_ARGS... -- FIELD PID [FIELD PID...]: one tapload against 127.0.0.1:PORT, recorded as
# NAME with the CPU seconds each PID spent over it under its FIELD.
tapload_with_cpu() {
  local name=$1 port=$2 load=() ticks=() i run
  shift 2
  while [ "$1" != -- ]; do load+=("$1"); shift; done
  shift
  local fields=("$@")
  for ((i = 1; i < ${#fields[@]}; i += 2)); do ticks+=("$(cpu_ticks "${fields[i]}")"); done
  run=$(tapload --target "http://127.0.0.1:$port" "${load[@]}")
  local json="{\"load\": $run"
  for ((i = 0; i < ${#fields[@]}; i += 2)); do
    json+=", \"${fields[i]}\": $(cpu_seconds_since "${fields[i + 1]}" "${ticks[i / 2]}")"
  done
  record "$name" "$json}"
}
# The reference proxy (bench/haproxy.cfg): HAProxy in front of the same upstream, measured in the same rounds.
haproxy_rest=$(free_port); haproxy_grpc=$(free_port)
(cd "$work" && exec env HAPROXY_REST_PORT="$haproxy_rest" HAPROXY_GRPC_PORT="$haproxy_grpc" UPSTREAM_REST_PORT="$up_http" \
   UPSTREAM_GRPC_PORT="$up_grpc" haproxy -db -f "$root/bench/haproxy.cfg" >"$work/haproxy.log" 2>&1) &
haproxy_pid=$!
pids+=("$haproxy_pid")
wait_http "http://127.0.0.1:$haproxy_rest/v2/health/ready"
tap_settings Auto
start_sidecar tapped "${tap_env[@]}"
for round in $(seq 1 $tap_rounds); do
  record "tap_direct_rest_$round" "$(tapload --target "http://127.0.0.1:$up_http" --kind rest --rate 1000)"
  record "tap_tapped_rest_$round" "$(tapload --target "http://127.0.0.1:$tap_port" --kind rest --rate 1000)"
  record "tap_haproxy_rest_$round" "$(tapload --target "http://127.0.0.1:$haproxy_rest" --kind rest --rate 1000)"
  record "tap_direct_grpc_$round" "$(tapload --target "http://127.0.0.1:$up_grpc" --kind grpc --rate 1000)"
  record "tap_tapped_grpc_$round" "$(tapload --target "http://127.0.0.1:$tap_grpc_port" --kind grpc --rate 1000)"
  record "tap_haproxy_grpc_$round" "$(tapload --target "http://127.0.0.1:$haproxy_grpc" --kind grpc --rate 1000)"
  # The same direct calls again: how far two runs of one thing differ here, against which an added p99 is read.
  record "tap_direct2_rest_$round" "$(tapload --target "http://127.0.0.1:$up_http" --kind rest --rate 1000)"
  record "tap_direct2_grpc_$round" "$(tapload --target "http://127.0.0.1:$up_grpc" --kind grpc --rate 1000)"
  record "tap_direct_stream_$round" "$(tapload --target "http://127.0.0.1:$up_http" --kind stream)"
  record "tap_tapped_stream_$round" "$(tapload --target "http://127.0.0.1:$tap_port" --kind stream)"
  record "tap_haproxy_stream_$round" "$(tapload --target "http://127.0.0.1:$haproxy_rest" --kind stream)"
done
# Beside it, a tapping sidecar whose thread pool does not spin: idle workers spin (sched_yield) before they sleep,
# which at 1,000 calls/s is CPU spent waiting for the next call. Measured flat out and at 1,000 calls/s alternating
# with the default one.
tapped_port=$tap_port
tap_settings Auto
start_sidecar tapnospin "${tap_env[@]}" DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0
nospin_port=$tap_port
# Flat out, with each party's CPU time (the client's own, the upstream's and the sidecar's from /proc), to tell
# where a call's cost goes when all three share the machine's cores.
flat=(--kind rest --concurrency 32)
tapload_with_cpu tap_flat_direct "$up_http" "${flat[@]}" -- upstream_cpu_seconds "$upstream_pid"
tapload_with_cpu tap_flat_tapped "$tapped_port" "${flat[@]}" -- upstream_cpu_seconds "$upstream_pid" sidecar_cpu_seconds "$tapped_pid"
tapload_with_cpu tap_flat_nospin "$nospin_port" "${flat[@]}" -- sidecar_cpu_seconds "$tapnospin_pid"
tapload_with_cpu tap_flat_haproxy "$haproxy_rest" "${flat[@]}" -- upstream_cpu_seconds "$upstream_pid" proxy_cpu_seconds "$haproxy_pid"
stop "$haproxy_pid"
# The sidecar's CPU time over tapped open-loop runs at 1,000 calls/s (each with its 2,000 warm-up calls), the default
# sidecar and the one without spinning alternating.
for round in $(seq 1 $tap_rounds); do
  tapload_with_cpu "tap_cpu_default_$round" "$tapped_port" --kind rest --rate 1000 -- cpu_seconds "$tapped_pid"
  tapload_with_cpu "tap_cpu_nospin_$round" "$nospin_port" --kind rest --rate 1000 -- cpu_seconds "$tapnospin_pid"
done
stop "$tapnospin_pid"
# Every tapped call observed, or its skip counted.
record tap_observed "{\"events\": $(metric_total "http://127.0.0.1:$tapped_http/metrics" ml_sidecar_events_received_total), \"skipped\": $(metric_total "http://127.0.0.1:$tapped_http/metrics" ml_sidecar_tap_skipped_total), \"calls\": $(metric_total "http://127.0.0.1:$tapped_http/metrics" ml_sidecar_tap_calls_total)}"
stop "$tapped_pid"
tap_settings OpenAi
start_sidecar tappass "${tap_env[@]}"
record tap_forward_only_rest "$(tapload --target "http://127.0.0.1:$tap_port" --kind rest --rate 1000)"
record tap_forward_only_flat "$(tapload --target "http://127.0.0.1:$tap_port" --kind rest --concurrency 32)"
stop "$tappass_pid"

# --- client overhead ------------------------------------------------------------------------------------------
start_sidecar overhead
predictions=100000
$smoke && predictions=5000
record python_client "$(/usr/bin/python3 bench/client-overhead/python_overhead.py --target "127.0.0.1:$overhead_grpc" --predictions $predictions --json)"
$smoke || record python_client_paced "$(/usr/bin/python3 bench/client-overhead/python_overhead.py --target "127.0.0.1:$overhead_grpc" --predictions 8000 --rate 1000 --json)"
dotnet "bench/MlMonitoring.ClientOverhead/bin/$bin/MlMonitoring.ClientOverhead.dll" --target "http://127.0.0.1:$overhead_grpc" --predictions $predictions >"$work/dotnet_client.txt"
# The same at 1,000 predictions/s, as in a model server that is not saturated; JIT tiering off, for the steady state
# of a long-running server (in 8 s the JIT's background thread was still busy, up to 160 ms of the figure).
$smoke || DOTNET_TieredCompilation=0 dotnet "bench/MlMonitoring.ClientOverhead/bin/$bin/MlMonitoring.ClientOverhead.dll" --target "http://127.0.0.1:$overhead_grpc" \
  --predictions 8000 --rate 1000 >>"$work/dotnet_client.txt"
stop "$overhead_pid"

if $smoke; then
  echo "benchmark smoke: $(wc -l <"$results") results"
  /usr/bin/python3 bench/report.py "$results" "$work/dotnet_client.txt" "" >"${BENCH_SMOKE_REPORT:-/dev/null}"
  exit 0
fi

# --- BenchmarkDotNet: the per-event path ----------------------------------------------------------------------
(cd "bench/MlMonitoring.Benchmarks/bin/$bin" && dotnet MlMonitoring.Benchmarks.dll --filter '*' --job short \
   --warmupCount 3 --iterationCount 5 --exporters github --artifacts "$work/bdn" >"$work/bdn.log" 2>&1)
/usr/bin/python3 bench/report.py "$results" "$work/dotnet_client.txt" "$work"/bdn/results/*-report-github.md >BENCHMARKS.md
echo "wrote BENCHMARKS.md"

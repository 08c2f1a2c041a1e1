#!/usr/bin/env bash
# Runs every test of the solution on a fresh Debian machine: installs the real parts the tests drive
# (Prometheus and promtool, Alertmanager and amtool, redis-server, Debian's python3 with scikit-learn, buildah and
# podman, node with the openai npm package, HAProxy for the tap's benchmark), builds what ships (./build.sh: the
# native executable and its image), builds the tests in Release and runs the xunit suites: the process tests start
# the native executable, the image test the image. A missing part fails its tests.
set -euo pipefail
cd "$(dirname "$0")"

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

missing=()
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v prometheus-alertmanager >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
/usr/bin/python3 -c 'import sklearn, numpy, scipy, grpc, google.protobuf, prometheus_client' >/dev/null 2>&1 ||
  missing+=(python3 python3-sklearn python3-numpy python3-scipy python3-grpcio python3-protobuf python3-prometheus-client)
# The Python client's committed stubs are checked against the contract with Debian's protoc and its gRPC plugin.
command -v protoc >/dev/null 2>&1 || missing+=(protobuf-compiler)
command -v grpc_python_plugin >/dev/null 2>&1 || missing+=(protobuf-compiler-grpc)
# The contract imports protobuf's well-known types (Timestamp, Duration), whose .proto files protoc only recommends.
[ -f /usr/include/google/protobuf/duration.proto ] || missing+=(libprotobuf-dev)
# The image is built with buildah and started with podman under runc (no container engine daemon runs here).
for tool in buildah podman runc; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
# The image's root filesystem carries OpenSSL and the CA bundle from this machine.
[ -f /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
/sbin/ldconfig -p | grep 'libssl.so.3 ' >/dev/null || missing+=(libssl3)  # not grep -q: ldconfig would get SIGPIPE
# The tap's benchmark measures a reference proxy beside it: Debian's HAProxy.
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
# The tap is tested with the official openai npm client, run by Debian's node.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
# The Python client is tested as users install it: pip into a venv over Debian's python3, offline.
/usr/bin/python3 -c 'import ensurepip, setuptools, wheel' >/dev/null 2>&1 ||
  missing+=(python3-venv python3-setuptools python3-wheel)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The openai npm package the tap tests drive, at the version the lock file names.
npm ci --no-audit --no-fund --prefix tests/MlMonitoring.Sidecar.Tests/Tap/Clients >/dev/null

# What ships, built once: the native executable the process tests and benchmarks start, and the image from it.
./build.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
dotnet test MlMonitoring.Sidecar.sln -c Release 2>&1 | tee "$log" || status=$?


# The benchmarks are not timed tests; a one-second smoke of each keeps them working.
if [ "$status" -eq 0 ]; then
  bash bench/run.sh --smoke || status=$?
fi

# One plain summary line over all test assemblies, last.
awk '
  /(Passed|Failed)!/ {
    if (match($0, /Failed: *[0-9]+/)) { f += substr($0, RSTART + 7, RLENGTH - 7) + 0 }
    if (match($0, /Passed: *[0-9]+/)) { p += substr($0, RSTART + 7, RLENGTH - 7) + 0 }
    if (match($0, /Skipped: *[0-9]+/)) { s += substr($0, RSTART + 8, RLENGTH - 8) + 0 }
  }
  END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }
' "$log"
exit "$status"

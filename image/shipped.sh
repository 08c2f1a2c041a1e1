# Sourced by build.sh and the benchmarks: what ships, named once.
#   shipped_executable  the native executable ./build.sh publishes
#   shipped_image       the image the k8s example runs (read from its manifest; ./build.sh tags its build with it)
#   shipped_env         (after ./build.sh) the environment that image sets, as an array, to run the executable as a pod would
shipped_executable="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/artifacts/sidecar/MlMonitoring.Sidecar"
# Whatever registry the manifest names (a user who wrote theirs in instead of using kustomize's images:), the image
# is the one named .../mlmonitoring/sidecar:<tag>.
shipped_image=$(awk '$1 == "image:" && $2 ~ /(^|\/)mlmonitoring\/sidecar:/ { print $2; exit }' "$(dirname "${BASH_SOURCE[0]}")/../k8s/model-server.yaml")
[ -n "$shipped_image" ] || { echo "no mlmonitoring/sidecar image in k8s/model-server.yaml" >&2; return 1; }

load_shipped_env() {
  read -r -a shipped_env <<<"$(podman --storage-driver vfs image inspect --format '{{range .Config.Env}}{{.}} {{end}}' "$shipped_image")"
}

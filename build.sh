#!/usr/bin/env bash
# Builds what ships: the native AOT executable, published into artifacts/sidecar/, and the image the k8s example
# names, built with buildah from that same executable (nothing is pulled). The process tests, the image test and
# the benchmarks all use these, so what is measured and tested is what ships.
# Usage: ./build.sh [--no-image]
set -euo pipefail
cd "$(dirname "$0")"
image=true
[ "${1:-}" = "--no-image" ] && image=false
source image/shipped.sh

dotnet publish src/MlMonitoring.Sidecar -c Release -r linux-x64 -o artifacts/sidecar -v quiet -nologo
echo "built $shipped_executable ($(du -h "$shipped_executable" | cut -f1))"
$image || exit 0

rm -rf artifacts/image
image/assemble-rootfs.sh artifacts/sidecar artifacts/image/rootfs
# chroot isolation and the vfs driver need neither user namespaces nor overlayfs; the rootfs context stands in for
# the Dockerfile's first stage, so nothing is pulled.
BUILDAH_ISOLATION=chroot buildah --storage-driver vfs build --quiet --build-context rootfs=artifacts/image \
  --tag "$shipped_image" --file Dockerfile artifacts/image >/dev/null
# Untagged images in the vfs storage, the build this one replaced among them, are removed: vfs keeps a full copy
# of each.
buildah --storage-driver vfs rmi --prune >/dev/null 2>&1 || true
echo "built image $shipped_image ($(buildah --storage-driver vfs images --format '{{.Size}}' "$shipped_image"))"

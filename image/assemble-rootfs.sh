#!/usr/bin/env bash
# Assembles the sidecar image's root filesystem from a native publish of it:
#   /app/MlMonitoring.Sidecar, the native executable, and libe_sqlite3.so beside it (the sqlite store);
#   the shared libraries they link against (glibc, its loader, libm), and OpenSSL, which .NET loads at the first TLS
#   connection (an https OTLP endpoint, a Redis with ssl=true), with the CA bundle it checks servers against;
#   /etc/passwd and /etc/group naming user and group 1654 ("app"); an empty /tmp.
# Nothing else: no shell, no package manager. Used by the Dockerfile's build stage and by build.sh alike, so the
# image built with Docker and the one built here from a local publish have the same layout.
# Usage: image/assemble-rootfs.sh PUBLISH_DIR ROOTFS_DIR
set -euo pipefail
publish=$1
rootfs=$2

rm -rf "$rootfs"
mkdir -p "$rootfs/app" "$rootfs/etc/ssl/certs" "$rootfs/tmp"
chmod 1777 "$rootfs/tmp"
install -m 0555 "$publish/MlMonitoring.Sidecar" "$rootfs/app/MlMonitoring.Sidecar"
install -m 0444 "$publish/libe_sqlite3.so" "$rootfs/app/libe_sqlite3.so"

# awk reads ldconfig's whole list: leaving at the first match would end ldconfig with SIGPIPE, which pipefail turns
# into a failed build.
find_library() {
  ldconfig -p | awk -v name="$1" '$1 == name && $0 ~ /x86-64/ && !found { print $NF; found = 1 }'
}
openssl=()
for name in libssl.so.3 libcrypto.so.3; do
  path=$(find_library "$name")
  [ -n "$path" ] || { echo "assemble-rootfs: $name not found on this machine (Debian: libssl3)" >&2; exit 1; }
  openssl+=("$path")
done

# Every library the executable, SQLite and OpenSSL need, by the path the loader looks for it at.
libraries=$(for binary in "$publish/MlMonitoring.Sidecar" "$publish/libe_sqlite3.so" "${openssl[@]}"; do
  ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
done; printf '%s\n' "${openssl[@]}")
for library in $(echo "$libraries" | sort -u); do
  mkdir -p "$rootfs$(dirname "$library")"
  cp -L "$library" "$rootfs$library"
done

ca_bundle=/etc/ssl/certs/ca-certificates.crt
[ -f "$ca_bundle" ] || { echo "assemble-rootfs: $ca_bundle not found (Debian: ca-certificates)" >&2; exit 1; }
cp -L "$ca_bundle" "$rootfs/etc/ssl/certs/ca-certificates.crt"

printf 'root:x:0:0:root:/:/sbin/nologin\napp:x:1654:1654:app:/app:/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\napp:x:1654:\n' >"$rootfs/etc/group"

#!/usr/bin/env bash
# Builds the zmesh container image (Dockerfile) with podman: the Debian base first
# (container-base.sh), then both stages. The compiler cache CCACHE_DIR (default
# ~/.ccache), when it exists, is mounted into the build stage, so a rebuild compiles
# only what changed. The image is ZMESH_IMAGE (localhost/zmesh:latest).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=container-lib.sh
source "$here/container-lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
container_conf "$tmp"

"$here/container-base.sh"
mounts=()
cache=${CCACHE_DIR:-$HOME/.ccache}
if [ -d "$cache" ]; then
  mounts=(--volume "$cache:/ccache:z")
fi
# --format docker: the OCI image format has no HEALTHCHECK.
podman build --format docker "${mounts[@]}" --build-arg "BASE=$base_image" --tag "$image" \
  --file "$root/Dockerfile" "$root"
echo "container-image: built $image ($(podman image inspect --format '{{.Size}}' "$image" | numfmt --to=iec))"

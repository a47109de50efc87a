#!/usr/bin/env bash
# Makes the Debian 12 base image of the zmesh image from Debian packages, with no image
# registry: mmdebstrap's minimal system (variant minbase) imported into podman as
# localhost/zmesh-base:bookworm (ZMESH_BASE_IMAGE). Skipped when the image exists, unless
# --force. ZMESH_DEBIAN_MIRROR (default http://deb.debian.org/debian) and
# ZMESH_DEBIAN_SECURITY (http://deb.debian.org/debian-security) choose the mirrors.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=container-lib.sh
source "$here/container-lib.sh"

if [ "${1:-}" != --force ] && podman image exists "$base_image"; then
  echo "container-base: $base_image exists (--force makes it again)"
  exit 0
fi
mirror=${ZMESH_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${ZMESH_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mmdebstrap --variant=minbase --mode=root --quiet bookworm "$tmp/base.tar" \
  "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
  "deb $security bookworm-security main"
podman import --quiet --change 'CMD ["/bin/bash"]' "$tmp/base.tar" "$base_image" >/dev/null
echo "container-base: made $base_image ($(du -h "$tmp/base.tar" | cut -f1) from $mirror)"

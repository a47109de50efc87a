#!/usr/bin/env bash
# make container-test: builds the zmesh image (container-image.sh), starts the network of
# contrib/compose/compose.yaml with podman-compose (a bootstrap node, two relays, an exit,
# a client) plus an HTTP file server (compose.test.yaml), fetches a random 4 MiB file
# through the client's SOCKS5 port with curl and checks its SHA-256. Also checks that the
# nodes run as the unprivileged user on a read-only root file system and that the image's
# health check (`zmesh status`) passes. Everything it started is removed on exit, Ctrl-C
# included. ZMESH_CONTAINER_SKIP_BUILD=1 uses the images already built.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=container-lib.sh
source "$here/container-lib.sh"

for tool in podman podman-compose mmdebstrap curl; do
  command -v "$tool" >/dev/null || {
    echo "container-test: $tool is missing (apt-get install podman podman-compose mmdebstrap runc curl)" >&2
    exit 1
  }
done

tmp=$(mktemp -d)
project=zmesh-ct-$$
compose=(podman-compose --project-name "$project"
  -f "$root/contrib/compose/compose.yaml" -f "$root/contrib/compose/compose.test.yaml")
cleanup() {
  trap - EXIT
  trap '' INT TERM  # a second Ctrl-C must not cut the teardown short
  if [ "${started:-0}" = 1 ]; then
    "${compose[@]}" down --volumes >"$tmp/down.log" 2>&1 ||
      echo "container-test: compose down failed, see podman ps -a" >&2
    # podman-compose 1.0.3 leaves the network behind.
    podman network rm --force "${project}_zmesh" >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
container_conf "$tmp"

if [ "${ZMESH_CONTAINER_SKIP_BUILD:-0}" != 1 ]; then
  "$here/container-image.sh"
fi
podman build --quiet --build-arg "BASE=$base_image" --tag localhost/zmesh-fileserver:test \
  --file "$root/tests/container/fileserver.Containerfile" "$root/tests/container" >/dev/null

mkdir "$tmp/files"
head -c 4194304 /dev/urandom > "$tmp/files/blob"
chmod -R a+rX "$tmp/files"
want=$(sha256sum "$tmp/files/blob" | cut -d' ' -f1)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

export ZMESH_IMAGE="$image" ZMESH_TEST_FILES="$tmp/files" ZMESH_SOCKS_PORT="$port"
started=1
start=$(date +%s)
"${compose[@]}" up -d bootstrap relay1 relay2 exit client fileserver >"$tmp/up.log" 2>&1 || {
  cat "$tmp/up.log" >&2
  exit 1
}
container() { podman ps --quiet --filter "label=io.podman.compose.project=$project" \
  --filter "label=com.docker.compose.service=$1"; }
client=$(container client)
logs() {
  for s in bootstrap relay1 relay2 exit client; do
    echo "--- $s" >&2
    podman logs "$(container "$s")" 2>&1 | tail -n 20 >&2
  done
}

# The client is ready when its bootstrap progress reaches 100% (it knows enough relays).
deadline=$((SECONDS + 120))
until podman exec "$client" zmesh status --format json 2>/dev/null |
  grep -q '"percent": *100'; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "container-test: FAIL: the client did not bootstrap in 120 s" >&2
    logs
    exit 1
  fi
  sleep 2
done
ready=$(($(date +%s) - start))

got=""
for _ in 1 2 3 4 5; do
  if curl --silent --show-error --fail --max-time 60 --socks5-hostname "127.0.0.1:$port" \
    -o "$tmp/got" http://fileserver:8000/blob; then
    got=$(sha256sum "$tmp/got" | cut -d' ' -f1)
    break
  fi
  sleep 3
done
if [ "$got" != "$want" ]; then
  echo "container-test: FAIL: fetched ${got:-nothing}, want $want" >&2
  logs
  exit 1
fi
echo "container-test: fetched 4 MiB through bootstrap, relays and exit containers; SHA-256 matches"

fail=0
for s in bootstrap relay1 relay2 exit client; do
  c=$(container "$s")
  uid=$(podman exec "$c" id -u)
  ro=$(podman inspect --format '{{.HostConfig.ReadonlyRootfs}}' "$c")
  if [ "$uid" != 10001 ] || [ "$ro" != true ]; then
    echo "container-test: FAIL: $s runs as uid $uid, read-only root: $ro" >&2
    fail=1
  fi
  if ! podman healthcheck run "$c" >/dev/null; then
    echo "container-test: FAIL: $s: the health check (zmesh status) fails" >&2
    fail=1
  fi
done
[ "$fail" = 0 ] || exit 1
echo "container-test: every node runs as uid 10001 on a read-only root file system; health checks pass"
echo "container-test: OK (network up and bootstrapped in ${ready} s)"

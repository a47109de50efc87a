#!/usr/bin/env bash
# Draws docs/images/topology.svg: `zmesh topology` of a client in a network of separate
# daemons on loopback (a bootstrap node, six relays of which two are exits) after three
# isolated downloads, i.e. three circuits. Usage: scripts/docs-topology.sh [build/zmesh]
zmesh=$(realpath "${1:-build/zmesh}")
out=$(realpath "$(dirname "$0")/../docs/images")/topology.svg
. "$(dirname "$0")/../tests/app/node_lib.sh" docs-topology
declare -A pid_of
exits=2 start_network t udp 6
start_file_server blob 2000000
for user in alice bob carol; do
  curl -sf --max-time 30 --socks5-hostname "$socks" -U "$user:x" \
    "http://127.0.0.1:$port/blob" -o /dev/null || fail "download as $user"
done
"$zmesh" topology --config "$dir/t-c.toml" --format svg --out "$out" || fail "topology"
echo "wrote $out"

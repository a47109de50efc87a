#!/usr/bin/env bash
# Two-process link benchmark on 127.0.0.1: a server echoes, a client sends COUNT cells
# with WINDOW in flight and checks every echo. Prints one line per transport.
set -euo pipefail
zmesh=${1:-build/zmesh}
count=${COUNT:-1000000}
window=${WINDOW:-1024}
dir=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$dir"' EXIT
"$zmesh" keygen --out "$dir/k" >/dev/null
"$zmesh" --log-level warn link serve --key "$dir/k" --echo >"$dir/out" 2>&1 &
server=$!
for _ in $(seq 1 100); do grep -q '^ready' "$dir/out" && break; sleep 0.1; done
ready=$(grep '^ready' "$dir/out")
key=${ready##*key=}
for t in udp tcp; do
  addr=$(echo "$ready" | sed -n "s/.* $t=\([^ ]*\).*/\1/p")
  "$zmesh" link send --transport $t --peer "$addr" --peer-key "$key" --count "$count" \
    --window "$window" --timeout 300 | head -1
done

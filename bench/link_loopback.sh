#!/usr/bin/env bash
# Two-process link benchmark on 127.0.0.1. For each transport:
#  sink: the client sends COUNT cells one way (WINDOW in flight); the server checks each
#        and reports counts. cells/s = cells that crossed the link intact per second.
#  echo: the server sends every cell back and the client checks each echo.
set -euo pipefail
zmesh=${1:-build/zmesh}
count=${COUNT:-1000000}
window=${WINDOW:-1024}
dir=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$dir"' EXIT
"$zmesh" keygen --out "$dir/k" >/dev/null
start_server() {  # mode
  "$zmesh" --log-level warn link serve --key "$dir/k" --"$1" >"$dir/$1.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do grep -q '^ready' "$dir/$1.out" && break; sleep 0.1; done
  grep '^ready' "$dir/$1.out"
}
for mode in sink echo; do
  ready=$(start_server $mode)
  key=${ready##*key=}
  for t in udp tcp; do
    addr=$(echo "$ready" | sed -n "s/.* $t=\([^ ]*\).*/\1/p")
    "$zmesh" link send --mode $mode --transport $t --peer "$addr" --peer-key "$key" \
      --count "$count" --window "$window" --timeout 300 | head -1
  done
done

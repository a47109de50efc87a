#!/usr/bin/env bash
# What the dashboard (docs/dashboard.md) costs the node serving it: CPU seconds (utime +
# stime from /proc/PID/stat) of `zmesh testnet --dashboard` (RELAYS relays, 2 exits and the
# client whose page it is, idle network) over SECONDS without a browser, then over
# SECONDS with headless Chromium showing the page (polling every 2 s, the topology every
# 10 s). The page's requests are counted by the server's closed connections in TIME-WAIT.
# Usage: [RELAYS=5] bench/dashboard_cpu.sh ZMESH_BINARY [SECONDS]
set -euo pipefail
zmesh=$1
seconds=${2:-60}
browser=$(command -v chromium || command -v chromium-browser)
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
tree_ticks() {  # every process of a tree (Chromium's renderers, GPU and network processes)
  local t=0 p
  for p in $(pgrep -g "$1" 2>/dev/null || true); do t=$((t + $(ticks "$p" 2>/dev/null || echo 0))); done
  echo "$t"
}

"$zmesh" testnet --relays "${RELAYS:-5}" --exits 2 --socks 127.0.0.1:0 --http "" \
  --dashboard 127.0.0.1:0 > "$dir/log" 2>&1 &
pid=$!
pids+=($pid)
for _ in $(seq 1 600); do grep -q '^ready' "$dir/log" && break; sleep 0.1; done
port=$(sed -n 's|^dashboard: http://127.0.0.1:\([0-9]*\)/$|\1|p' "$dir/log")
[ -n "$port" ] || { cat "$dir/log"; exit 1; }
sleep 5  # start-up work finishes

measure() {  # NAME
  local before after
  before=$(ticks "$pid")
  sleep "$seconds"
  after=$(ticks "$pid")
  awk -v n="$1" -v t=$((after - before)) -v hz="$hz" -v s="$seconds" \
    'BEGIN { printf "%s: zmesh CPU over %d s: %.2f s (%.3f%% of one core)\n", n, s, t / hz, 100 * t / hz / s }'
}
measure "page closed"

setsid "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --remote-debugging-port=0 --user-data-dir="$dir/profile" --window-size=1280,1640 \
  "http://127.0.0.1:$port/" > "$dir/chrome.log" 2>&1 &
chrome=$!
pids+=($chrome)
sleep 5  # the page loads
c_before=$(tree_ticks "$chrome")
measure "page open"
c_after=$(tree_ticks "$chrome")
served=$(ss -Htan state time-wait "( sport = :$port )" | wc -l)
awk -v t=$((c_after - c_before)) -v hz="$hz" -v s="$seconds" -v n="$served" \
  'BEGIN { printf "chromium (every process) over the same %d s: %.2f s; requests in the last 60 s: %d\n", s, t / hz, n }'

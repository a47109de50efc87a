#!/usr/bin/env bash
# Idle CPU of zmesh processes: CPU seconds (utime + stime from /proc/PID/stat) used while
# nothing is asked of them, after they are ready and settled.
#   testnet: `zmesh testnet` (5 relays, 2 exits and a client in one process, its spare
#            circuits built, links open between them) idling;
#   node:    one `zmesh node` relay with no peers and no circuits.
# Usage: bench/idle_cpu.sh ZMESH_BINARY [SECONDS] [testnet|node|both]
set -euo pipefail
zmesh=$1
seconds=${2:-60}
what=${3:-both}
dir=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Voluntary context switches of every thread: how often the process went to sleep, which
# is how often it woke (a finer measure than the 10 ms CPU ticks).
wakes() { cat /proc/"$1"/task/*/status | awk '/^voluntary_ctxt_switches/ { n += $2 } END { print n }'; }

# measure NAME: waits for the ready line in $dir/log, settles, then measures $pid.
measure() {
  for _ in $(seq 1 600); do grep -q "$2" "$dir/log" && break; sleep 0.1; done
  grep -q "$2" "$dir/log" || { cat "$dir/log"; exit 1; }
  sleep 5  # start-up work (circuit builds, descriptor fetches) finishes
  local before after w_before w_after
  before=$(ticks "$pid")
  w_before=$(wakes "$pid")
  sleep "$seconds"
  after=$(ticks "$pid")
  w_after=$(wakes "$pid")
  awk -v n="$1" -v t=$((after - before)) -v w=$((w_after - w_before)) -v hz="$hz" -v s="$seconds" \
    'BEGIN { printf "%s: idle CPU over %d s: %.2f s (%.3f%% of one core), %.1f wakeups/s\n", n, s, t / hz, 100 * t / hz / s, w / s }'
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=
}

if [ "$what" = testnet ] || [ "$what" = both ]; then
  "$zmesh" testnet --relays 5 --exits 2 --socks 127.0.0.1:0 > "$dir/log" 2>&1 &
  pid=$!
  measure testnet '^ready'
fi
if [ "$what" = node ] || [ "$what" = both ]; then
  cat > "$dir/node.toml" <<EOF
[core]
roles = ["relay"]
data_dir = "$dir/data"
[transport]
udp_listen = "127.0.0.1:0"
[monitoring]
prometheus_addr = ""
EOF
  "$zmesh" node --config "$dir/node.toml" > "$dir/log" 2>&1 &
  pid=$!
  measure node '^ready$'
fi

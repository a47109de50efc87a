#!/usr/bin/env bash
# Circuit figures on loopback through `zmesh testnet`: circuit build time, time to first
# byte, bulk throughput through 3 hops against a direct transfer, and latency per hop;
# the same over each link transport (udp, tcp, ws, wss, webrtc).
# Everything runs on this machine, the whole testnet in one process: its nodes spread over
# one thread per core (TESTNET_ARGS="--threads 1" puts them all on one).
set -euo pipefail
zmesh=${1:-build/zmesh}
mib=${MIB:-200}
dir=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$dir"' EXIT
mkdir -p "$dir/www"
head -c $((mib * 1048576)) /dev/urandom > "$dir/www/big.bin"
echo hi > "$dir/www/tiny.txt"
python3 -u -c '
import functools, http.server, sys
class Q(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer.request_queue_size = 1024  # default 5 overflows
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Q, directory=sys.argv[1]))
print(s.server_address[1], flush=True); s.serve_forever()' "$dir/www" > "$dir/port" &
pids+=($!)
for _ in $(seq 1 50); do [ -s "$dir/port" ] && break; sleep 0.1; done
web=$(cat "$dir/port")
url="http://127.0.0.1:$web"

direct=$(curl -s -o /dev/null -w '%{speed_download}' "$url/big.bin")
echo "direct loopback transfer: $(python3 -c "print(f'{$direct/1e6:.1f}')") MB/s"

run() {  # hops transport handshake
  "$zmesh" --log-level warn testnet --relays 8 --exits 2 --hops "$1" --transport "$2" \
    --handshake "$3" --socks 127.0.0.1:0 --http "" ${TESTNET_ARGS:-} > "$dir/tn.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do grep -q '^ready' "$dir/tn.log" && break; sleep 0.1; done
  local socks build
  socks=$(sed -n 's/^ready: SOCKS5 127.0.0.1:\([0-9]*\).*/\1/p' "$dir/tn.log")
  build=$(sed -n 's/^bootstrap: .* built in \([0-9.]*\) ms.*/\1/p' "$dir/tn.log")
  # First request of a new isolation key builds a circuit; later ones reuse it.
  local first ttfb speed
  first=$(curl -s -o /dev/null -U a:1 -w '%{time_starttransfer}' --socks5-hostname "127.0.0.1:$socks" "$url/tiny.txt")
  ttfb=$(for i in 1 2 3 4 5 6 7 8 9 10; do curl -s -o /dev/null -U a:1 -w '%{time_starttransfer}\n' --socks5-hostname "127.0.0.1:$socks" "$url/tiny.txt"; done | sort -n | sed -n 5p)
  speed=$(curl -s -o /dev/null -U b:1 -w '%{speed_download}' --socks5-hostname "127.0.0.1:$socks" "$url/big.bin")
  kill -INT $pid; wait $pid || true
  python3 -c "print(f'$2 $3 hops=$1: circuit build {float(\"$build\"):.1f} ms, first request (with build) {$first*1e3:.1f} ms, time to first byte {$ttfb*1e3:.2f} ms, bulk {$speed/1e6:.1f} MB/s ({$speed/$direct*100:.0f}% of direct)')"
}
# CONFIGS="3,udp,hybrid 3,tcp,hybrid" runs just those (for before/after comparisons).
# TESTNET_ARGS adds arguments to every `zmesh testnet` (e.g. "--threads 1").
if [ -n "${CONFIGS:-}" ]; then
  for c in $CONFIGS; do IFS=, read -r h t k <<< "$c"; run "$h" "$t" "$k"; done
  exit 0
fi
for h in 2 3 8; do run $h udp hybrid; done
run 3 udp classical
# Transports, as ratios to UDP (issue 8): the same 3-hop bulk transfer over each. Cells
# per second = bytes per second / 1041 (data bytes per cell with FEC).
for t in udp tcp ws wss webrtc; do run 3 "$t" hybrid; done

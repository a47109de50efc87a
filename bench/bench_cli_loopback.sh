#!/usr/bin/env bash
# `zmesh bench throughput` against the curl download of bench/testnet_loopback.sh, on one
# and the same `zmesh testnet` (8 relays, 2 exits, 3 hops, UDP, hybrid handshakes):
# RUNS alternating pairs of MIB MiB each, both through fresh circuits (new SOCKS
# credentials per transfer). curl fetches from Python's HTTP server, as testnet_loopback.sh
# does; zmesh bench from the sink it runs itself. Figures in MiB/s.
set -euo pipefail
zmesh=${1:-build/zmesh}
mib=${MIB:-200}
runs=${RUNS:-3}
dir=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$dir"' EXIT
mkdir -p "$dir/www"
head -c $((mib * 1048576)) /dev/urandom > "$dir/www/big.bin"
python3 -u -c '
import functools, http.server, sys
class Q(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Q, directory=sys.argv[1]))
print(s.server_address[1], flush=True); s.serve_forever()' "$dir/www" > "$dir/port" &
pids+=($!)
for _ in $(seq 1 50); do [ -s "$dir/port" ] && break; sleep 0.1; done
"$zmesh" --log-level warn testnet --relays 8 --exits 2 --hops 3 --transport udp \
  --handshake hybrid --socks 127.0.0.1:0 --http "" ${TESTNET_ARGS:-} > "$dir/tn.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q '^ready' "$dir/tn.log" && break; sleep 0.1; done
socks=$(sed -n 's/^ready: SOCKS5 \(127.0.0.1:[0-9]*\).*/\1/p' "$dir/tn.log")
for i in $(seq "$runs"); do
  c=$(curl -s -o /dev/null -U "curl$i:1" -w '%{speed_download}' --socks5-hostname "$socks" \
    "http://127.0.0.1:$(cat "$dir/port")/big.bin")
  z=$("$zmesh" bench throughput --socks "$socks" --bytes "${mib}M" --format json 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["mib_per_second"])')
  python3 -c "print(f'run $i: curl (testnet_loopback.sh) {$c/1048576:.1f} MiB/s, zmesh bench throughput {$z:.1f} MiB/s')"
done

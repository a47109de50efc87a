#!/usr/bin/env bash
# Metrics from a running testnet after real traffic: Prometheus text that the real
# `promtool check metrics` accepts, counters that moved, JSON and InfluxDB renderings.
set -uo pipefail
zmesh=$1
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; cat "$dir/tn.log" 2>/dev/null | tail -20; exit 1; }
command -v promtool >/dev/null || fail "promtool missing (Debian package prometheus; make deps)"

"$zmesh" testnet --socks 127.0.0.1:0 --http "" --metrics 127.0.0.1:0 --demo-http 127.0.0.1:0 \
  > "$dir/tn.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do grep -q '^metrics:' "$dir/tn.log" && break; sleep 0.1; done
url=$(sed -n 's/^metrics: \(.*\)/\1/p' "$dir/tn.log")
socks=$(sed -n 's/^ready: SOCKS5 127.0.0.1:\([0-9]*\).*/\1/p' "$dir/tn.log")
page=$(sed -n 's|^try: .* \(http://[^ ]*\)|\1|p' "$dir/tn.log")
[ -n "$url" ] && [ -n "$socks" ] && [ -n "$page" ] || fail "testnet did not report its addresses"
curl -sS -m 10 --socks5-hostname "127.0.0.1:$socks" "$page" >/dev/null || fail "fetch through the testnet"

curl -sS -m 10 "$url" > "$dir/metrics.txt" || fail "GET /metrics"
promtool check metrics < "$dir/metrics.txt" || fail "promtool rejects the exposition"
forwarded=$(awk '/^zmesh_relay_cells_forward_total/ {s += $2} END {print s + 0}' "$dir/metrics.txt")
[ "$forwarded" -gt 0 ] || fail "no relay cells counted as forwarded"
grep -q '^zmesh_proxy_streams_opened_total{node="client"} [1-9]' "$dir/metrics.txt" || fail "streams not counted"
grep -q '^zmesh_client_last_circuit_build_seconds{node="client"} 0\.' "$dir/metrics.txt" || fail "no build time"

curl -sS -m 10 "$url?format=json" > "$dir/metrics.json" || fail "GET json"
python3 -c '
import json, sys
d = json.load(sys.stdin)
names = {m["name"] for m in d["metrics"]}
assert "zmesh_link_packets_in_total" in names and "zmesh_relay_circuits" in names, names' \
  < "$dir/metrics.json" || fail "JSON rendering"
# To a file first: `grep -q` would stop reading early and fail curl under pipefail.
curl -sS -m 10 "$url?format=influx" > "$dir/influx.txt" || fail "GET influx"
grep -Eq '^zmesh_link_packets_in_total,node=client,transport=udp value=[0-9]+ [0-9]{19}$' \
  "$dir/influx.txt" || fail "InfluxDB line protocol"
code=$(curl -s -o /dev/null -w '%{http_code}' "${url%/metrics}/nope")
[ "$code" = 404 ] || fail "unknown path gave $code"
# DNS rebinding: a web page whose name now points at 127.0.0.1 sends its own Host; the
# loopback-bound endpoint answers only loopback names.
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: attacker.example' "$url")
[ "$code" = 403 ] || fail "a rebound page's request got $code"
hostport=${url#http://}
hostport=${hostport%%/*}
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: localhost:${hostport##*:}" "$url")
[ "$code" = 200 ] || fail "Host: localhost got $code"

kill -INT $pid; wait $pid; rc=$?; pid=
[ $rc -eq 0 ] || fail "testnet exit code $rc"
echo "metrics: promtool accepts the exposition; JSON and InfluxDB renderings check out"

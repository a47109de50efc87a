#!/usr/bin/env bash
# The main job end to end: `zmesh testnet` with real curl through SOCKS5 (and HTTP
# CONNECT), a 50 MiB download checked by SHA-256 over UDP, TCP, WebSocket, WebSocket/TLS
# and WebRTC links and over UDP links with 2% loss; 100 concurrent streams; refusals and
# malformed SOCKS input.
set -uo pipefail
zmesh=$1
here=$(cd "$(dirname "$0")" && pwd)
mib=${ZMESH_TEST_MIB:-50}
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$dir"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
metrics_port=""  # the running testnet's, when it serves metrics
fail() {
  echo "FAIL: $*"
  for f in "$dir"/*.log; do echo "--- $f"; tail -20 "$f"; done
  # What the nodes counted about streams and drops, when the testnet serves metrics.
  [ -z "$metrics_port" ] || curl -s -m 5 "http://127.0.0.1:$metrics_port/metrics" \
    | grep -E '^zmesh_(proxy|exit)_stream|^zmesh_[a-z]+_drop_[a-z_]+_total.* [1-9]' | head -60
  exit 1
}

mkdir -p "$dir/www"
head -c $((mib * 1048576)) /dev/urandom > "$dir/www/big.bin"
head -c 200000 /dev/urandom > "$dir/www/small.bin"
big_sum=$(sha256sum < "$dir/www/big.bin" | cut -d' ' -f1)
small_sum=$(sha256sum < "$dir/www/small.bin" | cut -d' ' -f1)

python3 -u -c '
import functools, http.server, sys
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
class Quiet(handler.func):
    def log_message(self, *a): pass
# A backlog of 5 (the default) overflows under 100 concurrent connections: the kernel
# then answers with SYN cookies, and a connection whose cookie check fails is reset,
# which the exit correctly passes on to the client as a reset.
http.server.ThreadingHTTPServer.request_queue_size = 1024
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=sys.argv[1]))
print(s.server_address[1], flush=True)
s.serve_forever()' "$dir/www" > "$dir/web.port" 2>"$dir/web.log" &
pids+=($!)
for _ in $(seq 1 50); do [ -s "$dir/web.port" ] && break; sleep 0.1; done
web=$(cat "$dir/web.port")
# A port nothing listens on, for the refusal checks.
closed=$(free_port)

start_testnet() {  # name, extra args...
  local name=$1; shift
  "$zmesh" testnet --relays 5 --exits 2 --socks 127.0.0.1:0 --http 127.0.0.1:0 "$@" \
    > "$dir/$name.log" 2>&1 &
  testnet=$!
  pids+=($testnet)
  for _ in $(seq 1 100); do grep -q '^ready' "$dir/$name.log" && break; sleep 0.1; done
  grep -q '^ready' "$dir/$name.log" || fail "$name testnet never became ready"
  socks=$(sed -n 's/^ready: SOCKS5 127.0.0.1:\([0-9]*\).*/\1/p' "$dir/$name.log")
  http=$(sed -n 's/.*HTTP CONNECT 127.0.0.1:\([0-9]*\).*/\1/p' "$dir/$name.log")
}

stop_testnet() {
  metrics_port=""
  kill -INT "$testnet"
  wait "$testnet"; local rc=$?
  [ $rc -eq 0 ] || fail "testnet exit code $rc after SIGINT"
}

download() {  # label
  local sum
  sum=$(curl -sS -m 300 --socks5-hostname "127.0.0.1:$socks" "http://127.0.0.1:$web/big.bin" | sha256sum | cut -d' ' -f1)
  [ "$sum" = "$big_sum" ] || fail "$1: SHA-256 of the ${mib} MiB download does not match"
  echo "$1: ${mib} MiB through 3 hops, SHA-256 matches"
}

metrics_port=$(free_port)
start_testnet udp --metrics "127.0.0.1:$metrics_port"
download "UDP links"
# 100 concurrent streams, each checked.
for i in $(seq 1 100); do
  ( sum=$(curl -sS -m 120 --socks5-hostname "127.0.0.1:$socks" -U "user$((i % 4)):pw" \
          "http://localhost:$web/small.bin" | sha256sum | cut -d' ' -f1)
    [ "$sum" = "$small_sum" ] || echo "stream $i wrong" ) >> "$dir/concurrent.out" 2>&1 &
done
wait $(jobs -p | grep -v -w -e "${pids[0]}" -e "$testnet") 2>/dev/null
[ ! -s "$dir/concurrent.out" ] || fail "concurrent streams: $(head -3 "$dir/concurrent.out")"
echo "100 concurrent streams: all intact"
# A destination that resets the connection: the client sees a reset, not a clean end,
# and both ends count it.
python3 -c '
import socket, struct, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept(); c.recv(1024)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); c.close()' \
  > "$dir/rst.port" 2>"$dir/rst.log" &
pids+=($!)
for _ in $(seq 1 50); do [ -s "$dir/rst.port" ] && break; sleep 0.1; done
curl -sS -m 30 --socks5-hostname "127.0.0.1:$socks" "http://127.0.0.1:$(cat "$dir/rst.port")/" \
  > /dev/null 2> "$dir/rst.curl" && fail "a reset destination looked like a clean end"
grep -q 'reset\|Recv failure\|Empty reply' "$dir/rst.curl" || fail "reset destination: $(cat "$dir/rst.curl")"
curl -sf "http://127.0.0.1:$metrics_port/metrics" > "$dir/udp.metrics" || fail "testnet metrics"
for m in 'zmesh_proxy_streams_reset_total{node="client"}' zmesh_exit_streams_reset_total; do
  n=$(awk -v m="$m" 'index($1, m) == 1 { s += $2 } END { print s + 0 }' "$dir/udp.metrics")
  [ "$n" -ge 1 ] || fail "$m: $n after a reset destination"
done
echo "a destination's reset reaches the client as a reset, and is counted"
# HTTP CONNECT on the second port.
sum=$(curl -sS -m 60 -p -x "http://127.0.0.1:$http" "http://127.0.0.1:$web/small.bin" | sha256sum | cut -d' ' -f1)
[ "$sum" = "$small_sum" ] || fail "HTTP CONNECT download"
echo "HTTP CONNECT: intact"
python3 "$here/socks_client.py" "$socks" "$closed" || fail "SOCKS reply checks"
sum=$(curl -sS -m 60 --socks5-hostname "127.0.0.1:$socks" "http://127.0.0.1:$web/small.bin" | sha256sum | cut -d' ' -f1)
[ "$sum" = "$small_sum" ] || fail "node unusable after malformed input"
stop_testnet

start_testnet tcp --transport tcp
download "TCP links"
stop_testnet

# WebSocket links, plain and inside TLS; and what a scanner or a broken peer sends to a
# WebSocket listener is refused cleanly, the network still working afterwards.
start_testnet ws --transport ws
download "WebSocket links"
relay=$(sed -n 's/^  relay 1\/5 relay 127.0.0.1:\([0-9]*\)$/\1/p' "$dir/ws.log")
[ -n "$relay" ] || fail "no relay port in the ws testnet log"
python3 "$here/ws_probe.py" "$relay" || fail "WebSocket refusals"
download "WebSocket links after the probes"
stop_testnet
start_testnet wss --transport wss
download "WebSocket links over TLS"
stop_testnet
# WebRTC data channels (ICE on 127.0.0.1, DTLS, SCTP), and refusals at the signaling
# listener.
rtc_metrics=$(free_port)
start_testnet webrtc --transport webrtc --metrics "127.0.0.1:$rtc_metrics"
download "WebRTC data channel links"
relay=$(sed -n 's/^  relay 1\/5 relay 127.0.0.1:\([0-9]*\)$/\1/p' "$dir/webrtc.log")
[ -n "$relay" ] || fail "no relay port in the webrtc testnet log"
python3 "$here/rtc_probe.py" "$relay" || fail "WebRTC signaling refusals"
download "WebRTC links after the probes"
# Per-transport metrics: the link bytes carry transport="webrtc", and relay 1 counted the
# probe's eight refused signaling requests.
curl -sf "http://127.0.0.1:$rtc_metrics/metrics" > "$dir/webrtc.metrics" || fail "webrtc metrics"
grep -q '^zmesh_link_bytes_out_total{node="client",transport="webrtc"} [1-9]' "$dir/webrtc.metrics" \
  || fail "no webrtc link bytes in the metrics"
refused=$(sed -n 's/^zmesh_transport_refused_requests_total{node="relay-1",transport="webrtc"} //p' "$dir/webrtc.metrics")
[ "${refused:-0}" -ge 8 ] 2>/dev/null || fail "relay 1 counted ${refused:-no} refused signaling requests, not 8"
stop_testnet

metrics_port=$(free_port)
start_testnet lossy --loss 0.02 --metrics "127.0.0.1:$metrics_port"
download "UDP links with 2% loss on every link"
# Forward erasure coding carried part of that: the exit sent repair cells and the client
# rebuilt lost cells from them.
curl -sf "http://127.0.0.1:$metrics_port/metrics" > "$dir/lossy.metrics" || fail "testnet metrics"
for m in zmesh_fec_repairs_sent_total zmesh_fec_recovered_total; do
  v=$(awk -v n="$m" '$1 == n { print $2 }' "$dir/lossy.metrics")
  [ "${v:-0}" -gt 0 ] 2>/dev/null || fail "$m is ${v:-missing} after a lossy download"
done
echo "lossy links: $(awk '$1 == "zmesh_fec_recovered_total" { print $2 }' "$dir/lossy.metrics") cells rebuilt by FEC"
stop_testnet
start_testnet nofec --loss 0.02 --no-fec
download "UDP links with 2% loss, FEC off"
stop_testnet
echo "testnet end-to-end: all checks passed"

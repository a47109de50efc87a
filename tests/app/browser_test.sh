#!/usr/bin/env bash
# Browser interoperability of the WebSocket transport: headless Chromium (Debian's
# chromium package) loads a page served by a zmesh node, opens a WebSocket to the node,
# sends 50 binary messages of random bytes and sizes up to 60,000, and checks the node
# echoes each byte-exact; over ws:// and over wss:// (the node's self-signed certificate),
# and, from a WebRTC node, over a WebSocket and then over an RTCPeerConnection data channel
# signaled through the node (Chromium's ICE runs on its wildcard socket to the node's
# 127.0.0.1 candidate: loopback only).
zmesh=$1
. "$(dirname "$0")/node_lib.sh" browser
browser=$(command -v chromium || command -v chromium-browser) || fail "no chromium (scripts/install-deps.sh installs it)"

check() {  # TRANSPORT SCHEME [chromium flags]
  local t=$1 scheme=$2; shift 2
  "$zmesh" testnet --transport "$t" --browser-test --relays 3 --exits 1 --hops 2 \
    --socks 127.0.0.1:0 --http "" > "$dir/$t.log" 2>&1 &
  local pid=$!
  pids+=($pid)
  for _ in $(seq 100); do grep -q '^ready' "$dir/$t.log" && break; sleep 0.1; done
  local port
  port=$(sed -n 's/^  relay 1\/3 relay 127.0.0.1:\([0-9]*\)$/\1/p' "$dir/$t.log")
  [ -n "$port" ] || fail "$t: no relay port"
  # The page reports its verdict to the node, which logs it.
  "$browser" --headless --no-sandbox --disable-gpu --no-first-run \
    --user-data-dir="$dir/profile-$t" "$@" \
    "$scheme://127.0.0.1:$port/zmesh-test.html" > "$dir/$t.browser" 2>&1 &
  local chrome=$!
  pids+=($chrome)
  for _ in $(seq 600); do grep -q "browser test:" "$dir/$t.log" && break; sleep 0.1; done
  kill "$chrome" 2>/dev/null
  grep -q "browser test: PASS 50 binary messages echoed" "$dir/$t.log" \
    || fail "$t: the browser says: $(grep -o 'browser test:.*' "$dir/$t.log" || echo nothing)"
  echo "$t: $(grep -o 'PASS.*' "$dir/$t.log")"
  kill -INT "$pid"
  wait "$pid" || fail "$t testnet exit code"
}

check ws http
check wss https --ignore-certificate-errors
check webrtc http
echo "browser: WebSocket and WebRTC data channel interop passed"

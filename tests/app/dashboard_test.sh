#!/usr/bin/env bash
# The live dashboard (docs/dashboard.md) against a running testnet: headless Chromium loads
# the page with the token (the /?token= visit sets the cookie), and the DOM it dumps must
# show bootstrap at 100%, built 2-hop circuits with an RTT for every hop, the udp links and
# an open stream (without its destination); a screenshot goes to OUT/dashboard.png. Without
# the token, or with a wrong one, every path answers 401; a tokenless dashboard answers 403
# to a Host a web page could rebind (DNS rebinding), and refuses to start off loopback.
zmesh=$1
out=${2:-.}
. "$(dirname "$0")/node_lib.sh" dashboard
browser=$(command -v chromium || command -v chromium-browser) || fail "no chromium (scripts/install-deps.sh installs it)"
mkdir -p "$out"

start_testnet() {  # NAME [args]: sets $port (dashboard) and $socks
  local name=$1; shift
  "$zmesh" testnet --relays 3 --exits 1 --hops 2 --threads 1 --socks 127.0.0.1:0 --http "" \
    --dashboard 127.0.0.1:0 "$@" > "$dir/$name.log" 2> "$dir/$name.err" &
  pids+=($!)
  for _ in $(seq 200); do grep -q '^ready' "$dir/$name.log" 2>/dev/null && break; sleep 0.05; done
  port=$(sed -n 's|^dashboard: http://127.0.0.1:\([0-9]*\)/$|\1|p' "$dir/$name.log")
  socks=$(sed -n 's/^ready: SOCKS5 \(.*\)$/\1/p' "$dir/$name.log")
  [ -n "$port" ] && [ -n "$socks" ] || fail "$name: no dashboard or SOCKS5 line"
}
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

# --- A tokenless dashboard: loopback Host names only; never off loopback.
start_testnet open
[ "$(code "http://127.0.0.1:$port/api/state")" = 200 ] || fail "tokenless: 127.0.0.1 refused"
[ "$(code -H 'Host: localhost:1' "http://127.0.0.1:$port/")" = 200 ] || fail "tokenless: localhost refused"
# The attack: a page on evil.example rebinds its name to 127.0.0.1 and reads the dashboard.
[ "$(code -H 'Host: evil.example' "http://127.0.0.1:$port/api/state")" = 403 ] \
  || fail "a rebound Host name was answered"
[ "$(code -X POST "http://127.0.0.1:$port/")" = 405 ] || fail "POST answered"
# Bounds: a request head over 8 KiB is refused; 16 connections at once, the 17th is closed.
[ "$(code -H "X-Big: $(head -c 9000 /dev/zero | tr '\0' a)" "http://127.0.0.1:$port/")" = 400 ] \
  || fail "an oversized request head was answered"
python3 - "$port" <<'PY' || fail "the connection bound does not hold"
import socket, sys, urllib.request
port = int(sys.argv[1])
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(16)]
extra = socket.create_connection(("127.0.0.1", port))
extra.settimeout(5)
try:  # closed unanswered (a reset when the request arrived first)
    extra.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert extra.recv(100) == b"", "the 17th connection was served"
except ConnectionResetError:
    pass
for s in held: s.close()
for _ in range(50):  # served again once the others are gone
    try:
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).status == 200
        break
    except OSError:
        pass
else:
    raise SystemExit("not served after the held connections closed")
PY
"$zmesh" testnet --relays 2 --exits 1 --hops 2 --socks 127.0.0.1:0 --http "" \
  --dashboard 0.0.0.0:0 > "$dir/wild.log" 2>&1 && fail "a tokenless dashboard started off loopback"
grep -q "needs a token" "$dir/wild.log" || fail "off loopback: $(cat "$dir/wild.log")"
printf '[monitoring]\ndashboard_addr = "0.0.0.0:9100"\n' > "$dir/wild.toml"
"$zmesh" config validate "$dir/wild.toml" > "$dir/validate.out" 2>&1 && fail "config validate accepted it"
grep -q "monitoring.dashboard_addr: not a loopback address" "$dir/validate.out" \
  || fail "validate: $(cat "$dir/validate.out")"

# --- The daemon: monitoring.dashboard_addr with a token file, under seccomp.
cat > "$dir/relay.toml" <<EOF
[core]
roles = ["relay"]
data_dir = "$dir/relay"
[transport]
udp_listen = "127.0.0.1:0"
[monitoring]
prometheus_addr = ""
dashboard_addr = "127.0.0.1:0"
dashboard_token_file = "$dir/relay.token"
[security]
enable_seccomp = true
EOF
"$zmesh" node --config "$dir/relay.toml" > "$dir/relay.out" 2> "$dir/relay.err" &
pids+=($!)
wait_ready "$dir/relay.out"
dport=$(sed -n 's/^listening: dashboard 127.0.0.1:\([0-9]*\)$/\1/p' "$dir/relay.out")
[ -n "$dport" ] || fail "the daemon lists no dashboard"
[ "$(code "http://127.0.0.1:$dport/api/state")" = 401 ] || fail "daemon: answered without the token"
auth="Authorization: Bearer $(head -1 "$dir/relay.token")"
curl -s -H "$auth" "http://127.0.0.1:$dport/api/state" > "$dir/relay.json"
[ "$(json "$dir/relay.json" "d['node']['roles'][0], d['listeners'][0]['kind']")" = "relay link-udp" ] \
  || fail "daemon state: $(head -c 500 "$dir/relay.json")"
[ "$(code -H "$auth" "http://127.0.0.1:$dport/dashboard.js")" = 200 ] || fail "daemon: no page"

# --- A dashboard with a token (created 0600 by the testnet).
start_testnet guarded --dashboard-token-file "$dir/dash.token"
[ "$(stat -c %a "$dir/dash.token")" = 600 ] || fail "token file mode $(stat -c %a "$dir/dash.token")"
token=$(head -1 "$dir/dash.token")
[ ${#token} -ge 32 ] || fail "short token"
wrong=${token%?}$([ "${token: -1}" = 0 ] && echo 1 || echo 0)  # its last digit changed
base="http://127.0.0.1:$port"
for path in / /index.html /dashboard.js /api/state /api/topology; do
  [ "$(code "$base$path")" = 401 ] || fail "$path answered without the token"
  [ "$(code -H "Authorization: Bearer x$token" "$base$path")" = 401 ] || fail "$path: wrong bearer token"
  [ "$(code -H "Cookie: zmesh_dashboard=$wrong" "$base$path")" = 401 ] || fail "$path: wrong cookie"
done
[ "$(code "$base/?token=$wrong")" = 401 ] || fail "a wrong ?token= was accepted"
curl -s -D "$dir/login.h" -o /dev/null "$base/?token=$token"
grep -q '^HTTP/1.1 303' "$dir/login.h" && grep -qi "^Set-Cookie: zmesh_dashboard=$token; Path=/; HttpOnly; SameSite=Strict" "$dir/login.h" \
  || fail "no cookie from ?token=: $(cat "$dir/login.h")"
[ "$(code -H "Cookie: a=b; zmesh_dashboard=$token" "$base/api/state")" = 200 ] || fail "the cookie is refused"

# A stream held open while the page is looked at: a server that accepts and never answers.
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(4)
print(s.getsockname()[1], flush=True)
conns = []
while True: conns.append(s.accept())' > "$dir/hold.port" &
pids+=($!)
for _ in $(seq 100); do [ -s "$dir/hold.port" ] && break; sleep 0.05; done
hold=$(cat "$dir/hold.port")
curl -s --max-time 60 --socks5-hostname "$socks" "http://127.0.0.1:$hold/" -o /dev/null &
pids+=($!)
for _ in $(seq 100); do
  curl -s -H "Authorization: Bearer $token" "$base/api/state" > "$dir/state.json"
  grep -q '"streams_total":[1-9]' "$dir/state.json" && break
  sleep 0.1
done
python3 - "$dir/state.json" "$hold" <<'PY' || fail "state: $(head -c 2000 "$dir/state.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["bootstrap"]["percent"] == 100 and d["bootstrap"]["step"] == "ready", d["bootstrap"]
built = [c for c in d["circuits"] if c["state"] == "built"]
assert built and all(len(c["hops"]) == 2 for c in built), d["circuits"]
assert all(isinstance(h["rtt_ms"], float) and h["rtt_ms"] > 0 for c in built for h in c["hops"])
assert d["transports"].get("udp", 0) >= 1, d["transports"]
assert d["streams_total"] >= 1 and d["streams"][0]["state"] in ("open", "opening"), d["streams"]
# Destinations never appear: no target field, not the file server's port anywhere.
text = open(sys.argv[1]).read()
assert "target" not in text and ":" + sys.argv[2] + '"' not in text, "a destination leaked"
PY

# --- Headless Chromium: the page, through the ?token= visit and its cookie.
chrome() {  # PROFILE [flags]
  local profile=$1; shift
  timeout 60 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$dir/$profile" --virtual-time-budget=15000 "$@" "$base/?token=$token"
}
chrome dom --dump-dom > "$dir/dom.html" 2> "$dir/chrome-dom.err" || fail "chromium --dump-dom failed"
cp "$dir/dom.html" "$out/dashboard.html"
python3 - "$dir/dom.html" <<'PY' || fail "the page does not show the node (see $out/dashboard.html)"
import re, sys
dom = open(sys.argv[1]).read()
assert 'data-loaded="1"' in dom, "the page never rendered the state"
assert re.search(r'id="bootstrap-percent">100%<', dom), "bootstrap is not at 100%"
rows = re.findall(r'data-hops="2">(.*?)</span></td>', dom)
assert rows, "no 2-hop circuit"
assert all(len(re.findall(r'class="rtt">\d+\.\d ms<', r)) == 2 for r in rows), rows
assert re.search(r'data-transport="udp">udp: \d+<', dom), "no udp links"
assert re.search(r'<tbody><tr><td>\d+</td><td>\d+</td><td>(open|opening)</td>', dom[dom.index('id="streams"'):]), "no stream row"
assert dom.count('class="relay"') == 3, "topology: not 3 relays"
assert 'class="edge built"' in dom, "topology: no circuit drawn"
assert "<polyline" in dom, "no throughput graph"
PY
rm -f "$out/dashboard.png"
chrome shot --screenshot="$out/dashboard.png" --window-size=1280,1640 --hide-scrollbars \
  > "$dir/chrome-shot.out" 2>&1 || fail "chromium --screenshot failed"
[ "$(stat -c %s "$out/dashboard.png" 2>/dev/null || echo 0)" -gt 20000 ] || fail "no screenshot"
echo "dashboard: PASS (DOM checked, screenshot $out/dashboard.png, token and Host refusals)"

#!/usr/bin/env bash
# Several transports per node, chosen per peer with a fallback order. Every node runs
# WebRTC and WebSocket links and advertises both; the client prefers WebRTC (the default
# order), but its first hop refuses its WebRTC signaling request (404, as a web server or
# proxy that does not pass it on would), so the client falls back to the WebSocket, while
# the relays keep linking to each other over WebRTC. The download must still arrive intact,
# and the metrics must show the refusal, the fallback and both transports in use.
zmesh=$1
. "$(dirname "$0")/node_lib.sh" transport-fallback
start_file_server
declare -A pid_of

client_extra='webrtc_path = "/not-here"' start_network fb webrtc+ws 3

contact=$(sed -n 's/^contact: \([^ ]*\) .*/\1/p' "$dir/fb-r1.out")
[[ ",$contact," == *,webrtc://127.0.0.1:*,* && ",$contact," == *,ws://127.0.0.1:*,* ]] \
  || fail "relay 1's contact line does not list a webrtc and a ws address: $(grep contact: "$dir/fb-r1.out")"
boot=$(sed -n 's/^bootstrap: \([^ ]*\) .*/\1/p' "$dir/fb-b.out")
curl -sf "http://$boot/zmesh/v1/descriptors.txt" > "$dir/descriptors.txt"
for kind in webrtc ws; do
  [ "$(grep -c "$kind:127.0.0.1" "$dir/descriptors.txt")" -ge 4 ] \
    || fail "descriptors do not all advertise $kind: $(cat "$dir/descriptors.txt")"
done

curl -sf --max-time 60 --socks5-hostname "$socks" "http://127.0.0.1:$port/blob" -o "$dir/got" \
  || fail "download with a refused first transport"
cmp -s "$dir/got" "$dir/www/blob" || fail "the download differs"

metric() {  # NODE NAME TRANSPORT: the value, 0 when absent
  "$zmesh" metrics --config "$dir/fb-$1.toml" \
    | sed -n "s/^zmesh_link_$2_total{transport=\"$3\"} //p" | awk '{s+=$1} END {print s+0}'
}
[ "$(metric c connect_failures webrtc)" -ge 1 ] || fail "the client counted no failed WebRTC link"
[ "$(metric c connects ws)" -ge 1 ] || fail "the client opened no WebSocket link"
[ "$(metric c connect_failures ws)" = 0 ] || fail "a WebSocket link of the client failed"
rtc=0
for n in b r1 r2 r3; do rtc=$((rtc + $(metric "$n" connects webrtc))); done
[ "$rtc" -ge 1 ] || fail "no relay opened a WebRTC link to the next hop"
grep -q "a link over webrtc did not open; trying ws" "$dir/fb-c.err" || fail "the client did not log its fallback to ws"
# transport.order changes on SIGHUP: with the WebSocket alone, new links skip WebRTC.
failures=$(metric c connect_failures webrtc)
ws=$(metric c connects ws)
sed -i 's/^\[transport\]$/[transport]\norder = ["ws"]/' "$dir/fb-c.toml"
kill -HUP "${pids[-1]}"
for _ in $(seq 100); do grep -q "reload: applied" "$dir/fb-c.err" && break; sleep 0.05; done
grep -q 'reload: applied transport.order=' "$dir/fb-c.err" \
  || fail "transport.order was not reloaded: $(grep reload: "$dir/fb-c.err")"
"$zmesh" newnym --config "$dir/fb-c.toml" > /dev/null || fail "newnym"
curl -sf --max-time 60 --socks5-hostname "$socks" "http://127.0.0.1:$port/blob" -o "$dir/got2" \
  || fail "download after the reload"
cmp -s "$dir/got2" "$dir/www/blob" || fail "the second download differs"
[ "$(metric c connect_failures webrtc)" = "$failures" ] || fail "WebRTC was tried after the reload"
[ "$(metric c connects ws)" -gt "$ws" ] || fail "no new WebSocket link after the reload"

echo "webrtc refused, ws used: $(metric c connect_failures webrtc) WebRTC failures and" \
  "$(metric c connects ws) WebSocket links at the client, $rtc WebRTC links between relays;" \
  "downloads intact; order ws-only after SIGHUP"

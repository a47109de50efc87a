#!/usr/bin/env bash
# zmesh node daemons linked by WebSocket over TLS (wss://), then by WebRTC data channels:
# each time a bootstrap, three relays (one exit) and a client that learns them and
# downloads through them (compared byte for byte). The relays' link ports look like web
# servers to anyone else: HTTP(S) on them answers 404.
zmesh=$1
. "$(dirname "$0")/node_lib.sh" ws-daemon
start_file_server
declare -A pid_of
start_network wss wss 3
curl -sf --max-time 60 --socks5-hostname "$socks" "http://127.0.0.1:$port/blob" -o "$dir/got" \
  || fail "download over wss links"
cmp -s "$dir/got" "$dir/www/blob" || fail "the download over wss links differs"
link=$(sed -n 's/^listening: link-wss //p' "$dir/wss-r1.out")
[ -n "$link" ] || fail "relay 1 lists no wss link listener"
code=$(curl -sk -o /dev/null -w '%{http_code}' "https://$link/")
[ "$code" = 404 ] || fail "HTTPS on a relay's link port answered $code, not 404"
grep -q "wss:127.0.0.1" <(curl -sf "http://$(sed -n 's/^bootstrap: \([^ ]*\) .*/\1/p' "$dir/wss-b.out")/zmesh/v1/descriptors.txt") \
  || fail "descriptors do not advertise wss addresses"
echo "ws daemon: download over wss links, 404 to strangers, wss in descriptors"

# The same over WebRTC data channel links (signaling on each node's webrtc_listen).
start_network rtc webrtc 3
curl -sf --max-time 60 --socks5-hostname "$socks" "http://127.0.0.1:$port/blob" -o "$dir/got-rtc" \
  || fail "download over webrtc links"
cmp -s "$dir/got-rtc" "$dir/www/blob" || fail "the download over webrtc links differs"
signal=$(sed -n 's/^listening: link-webrtc //p' "$dir/rtc-r1.out")
[ -n "$signal" ] || fail "relay 1 lists no webrtc link listener"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$signal/")
[ "$code" = 404 ] || fail "HTTP on a relay's signaling port answered $code, not 404"
grep -q "webrtc:127.0.0.1" <(curl -sf "http://$(sed -n 's/^bootstrap: \([^ ]*\) .*/\1/p' "$dir/rtc-b.out")/zmesh/v1/descriptors.txt") \
  || fail "descriptors do not advertise webrtc addresses"
echo "webrtc daemon: download over data channel links, 404 to strangers, webrtc in descriptors"

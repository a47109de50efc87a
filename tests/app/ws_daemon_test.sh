#!/usr/bin/env bash
# zmesh node daemons linked by WebSocket over TLS (wss://), then by WebRTC data channels
# signaled over ws:// and over wss://:
# each time a bootstrap, three relays (one exit) and a client that learns them and
# downloads through them (compared byte for byte). The relays' link ports look like web
# servers to anyone else: HTTP(S) on them answers 404. Descriptors advertise the kind.
zmesh=$1
. "$(dirname "$0")/node_lib.sh" ws-daemon
start_file_server
declare -A pid_of

check() {  # NET LINK KIND URL_SCHEME [curl flags]: KIND as descriptors name it
  local net=$1 link=$2 kind=$3 scheme=$4 listener code boot
  shift 4
  start_network "$net" "$link" 3
  curl -sf --max-time 60 --socks5-hostname "$socks" "http://127.0.0.1:$port/blob" -o "$dir/got-$net" \
    || fail "download over $link links"
  cmp -s "$dir/got-$net" "$dir/www/blob" || fail "the download over $link links differs"
  listener=$(sed -n "s/^listening: link-$link //p" "$dir/$net-r1.out")
  [ -n "$listener" ] || fail "relay 1 lists no $link link listener"
  code=$(curl -s "$@" -o /dev/null -w '%{http_code}' "$scheme://$listener/")
  [ "$code" = 404 ] || fail "$scheme on a relay's $link port answered $code, not 404"
  boot=$(sed -n 's/^bootstrap: \([^ ]*\) .*/\1/p' "$dir/$net-b.out")
  grep -q "$kind:127.0.0.1" <(curl -sf "http://$boot/zmesh/v1/descriptors.txt") \
    || fail "descriptors do not advertise $kind addresses"
  echo "$link daemons: download over $link links, 404 to strangers, $kind in descriptors"
}

check wss wss wss https -k
check rtc webrtc webrtc http
check rtcs webrtc-tls webrtc-tls https -k  # signaling inside TLS

#!/usr/bin/env bash
# Self-healing on loopback: a client downloads 100 MiB (ZMESH_HEAL_MIB) through a 3-hop
# circuit; the middle relay of that circuit is killed (SIGKILL) in the middle of it. The
# client notices (a DESTROY from its guard over TCP links; its liveness probes over UDP,
# where the exit notices nothing for half a minute), builds a new circuit to the same exit
# and moves the stream there; the download completes with the right SHA-256. Run over TCP,
# UDP and WebRTC links.
zmesh=$1
mib=${ZMESH_HEAL_MIB:-100}
. "$(dirname "$0")/node_lib.sh" healing

start_file_server big $((mib * 1048576))

run() {  # NET (tcp, udp or webrtc links)
  local net=$1
  declare -A pid_of
  # Seven relays (with the bootstrap), one exit: after a middle relay dies others remain.
  start_network "$net" "$net" 7
  # Slow enough that the kill lands mid-transfer on any machine.
  curl -sS --max-time 300 --limit-rate 25M --socks5-hostname "$socks" -U heal:x \
    "http://127.0.0.1:$port/big" -o "$dir/$net-got" 2> "$dir/$net-curl.err" &
  local curl_pid=$!
  for _ in $(seq 400); do
    [ "$(stat -c %s "$dir/$net-got" 2>/dev/null || echo 0)" -ge $((mib * 1048576 / 10)) ] && break
    sleep 0.05
  done
  local middle
  middle=$(middle_relay "$net") || fail "$net: no single stream on a circuit to find the middle relay of"
  local victim=${pid_of[$middle]:-}
  [ -n "$victim" ] || fail "$net: the middle relay $middle is not one of ours"
  local before
  before=$(stat -c %s "$dir/$net-got")
  kill -KILL "$victim"
  echo "$net: killed the middle relay at $((before / 1048576)) MiB"
  wait "$curl_pid" || fail "$net: curl failed after the relay died: $(cat "$dir/$net-curl.err")"
  [ "$(sha256sum < "$dir/$net-got" | cut -d' ' -f1)" = "$want" ] || fail "$net: SHA-256 differs"
  [ "$(metric "$dir/$net-c.toml" zmesh_proxy_streams_resumed_total)" = 1 ] \
    || fail "$net: the client did not move the stream: $(grep proxy "$dir/m.txt")"
  [ "$(metric "$dir/$net-r7.toml" zmesh_exit_streams_resumed_total)" = 1 ] \
    || fail "$net: the exit did not take the stream over"
  grep -q "streams moved to circuit" "$dir/$net-c.err" || fail "$net: no recovery logged"
  echo "$net: ${mib} MiB with the middle relay killed mid-way, SHA-256 matches (moved $(grep -o '[0-9]* ms after' "$dir/$net-c.err" | head -1) it was found dead)"
}

run tcp
run udp
run webrtc
# Over TCP the exit saw the circuit die and parked the stream; over UDP it did not notice
# in time and handed the stream over from the circuit it still held.
[ "$(metric "$dir/tcp-r7.toml" zmesh_exit_streams_parked_total)" = 1 ] || fail "tcp: the exit never parked the stream"
echo "healing: all checks passed"

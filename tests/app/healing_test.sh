#!/usr/bin/env bash
# Self-healing on loopback: a client downloads 100 MiB (ZMESH_HEAL_MIB) through a 3-hop
# circuit; the middle relay of that circuit is killed (SIGKILL) in the middle of it. The
# client notices (a DESTROY from its guard over TCP links; its liveness probes over UDP,
# where the exit notices nothing for half a minute), builds a new circuit to the same exit
# and moves the stream there; the download completes with the right SHA-256. Run over TCP
# and over UDP links.
zmesh=$1
mib=${ZMESH_HEAL_MIB:-100}
. "$(dirname "$0")/node_lib.sh" healing

mkdir -p "$dir/www"
head -c $((mib * 1048576)) /dev/urandom > "$dir/www/big"
want=$(sha256sum < "$dir/www/big" | cut -d' ' -f1)
python3 -m http.server 0 --bind 127.0.0.1 --directory "$dir/www" > "$dir/www.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "port" "$dir/www.out" && break; sleep 0.05; done
port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$dir/www.out" | head -1)
[ -n "$port" ] || fail "no file server"

node_config() {  # NET NAME ROLES CORE_EXTRA TRANSPORT_EXTRA LINK
  cat > "$dir/$1-$2.toml" <<CONF
[core]
roles = $3
data_dir = "$dir/$1-$2"
$4
[transport]
$6
$5
[circuit]
preemptive_circuits = 0
[monitoring]
prometheus_addr = ""
[security]
allow_private_exit = true
CONF
}
metric() {  # CONFIG NAME: the value of an unlabelled sample
  "$zmesh" metrics --config "$1" > "$dir/m.txt" 2>/dev/null
  awk -v n="$2" '$1 == n { print $2 }' "$dir/m.txt"
}

run() {  # NET (tcp or udp)
  local net=$1 link
  declare -A pid_of
  if [ "$net" = tcp ]; then
    link='udp_listen = ""
tcp_listen = "127.0.0.1:0"'
  else
    link='udp_listen = "127.0.0.1:0"'
  fi
  node_config "$net" b '["relay", "bootstrap"]' "" 'directory_listen = "127.0.0.1:0"' "$link"
  "$zmesh" node --config "$dir/$net-b.toml" > "$dir/$net-b.out" 2> "$dir/$net-b.err" &
  pids+=($!)
  pid_of[b]=$!
  wait_ready "$dir/$net-b.out"
  local boot directory
  boot=$(sed -n 's/^bootstrap: //p' "$dir/$net-b.out")
  directory=${boot%% *}
  # Seven relays (with the bootstrap), one exit: after a middle relay dies others remain.
  for i in 1 2 3 4 5 6 7; do
    local roles='["relay"]'
    [ "$i" = 7 ] && roles='["relay", "exit"]'
    node_config "$net" "r$i" "$roles" "bootstrap = [\"$boot\"]" "" "$link"
    "$zmesh" node --config "$dir/$net-r$i.toml" > "$dir/$net-r$i.out" 2> "$dir/$net-r$i.err" &
    pids+=($!)
    pid_of[r$i]=$!
  done
  for i in b 1 2 3 4 5 6 7; do
    [ "$i" = b ] || i=r$i
    wait_ready "$dir/$net-$i.out"
    "$zmesh" status --config "$dir/$net-$i.toml" --format json > "$dir/s.json"
    pid_of[$(json "$dir/s.json" "d['node_id']")]=${pid_of[$i]}
  done
  for _ in $(seq 200); do
    curl -sf "http://$directory/zmesh/v1/descriptors.txt" -o "$dir/descriptors.txt"
    [ "$(wc -l < "$dir/descriptors.txt")" -ge 8 ] && break
    sleep 0.1
  done
  node_config "$net" c '["client"]' "bootstrap = [\"$boot\"]" 'socks_listen = "127.0.0.1:0"' "$link"
  "$zmesh" node --config "$dir/$net-c.toml" > "$dir/$net-c.out" 2> "$dir/$net-c.err" &
  pids+=($!)
  wait_ready "$dir/$net-c.out"
  local socks
  socks=$(sed -n 's/^listening: socks5 //p' "$dir/$net-c.out")
  for _ in $(seq 100); do
    "$zmesh" status --config "$dir/$net-c.toml" --format json > "$dir/s.json" 2>/dev/null
    [ "$(json "$dir/s.json" "d['relays_known']")" -ge 8 ] && break
    sleep 0.05
  done

  # Slow enough that the kill lands mid-transfer on any machine.
  curl -sS --max-time 300 --limit-rate 25M --socks5-hostname "$socks" -U heal:x \
    "http://127.0.0.1:$port/big" -o "$dir/$net-got" 2> "$dir/$net-curl.err" &
  local curl_pid=$!
  for _ in $(seq 400); do
    [ "$(stat -c %s "$dir/$net-got" 2>/dev/null || echo 0)" -ge $((mib * 1048576 / 10)) ] && break
    sleep 0.05
  done
  "$zmesh" streams --config "$dir/$net-c.toml" --format json > "$dir/streams.json"
  "$zmesh" circuits --config "$dir/$net-c.toml" --format json > "$dir/circuits.json"
  local middle
  middle=$(python3 - "$dir/streams.json" "$dir/circuits.json" <<'PY'
import json, sys
streams = json.load(open(sys.argv[1]))["streams"]
circuits = {c["id"]: c for c in json.load(open(sys.argv[2]))["circuits"]}
[s] = streams
print(circuits[s["circuit"]]["path"][1])
PY
) || fail "$net: no single stream on a circuit to find the middle relay of"
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
# Over TCP the exit saw the circuit die and parked the stream; over UDP it did not notice
# in time and handed the stream over from the circuit it still held.
[ "$(metric "$dir/tcp-r7.toml" zmesh_exit_streams_parked_total)" = 1 ] || fail "tcp: the exit never parked the stream"
echo "healing: all checks passed"

# Shared by the tests that run zmesh node daemons: a scratch directory removed at exit
# with every process started into `pids`, failure reports with the daemons' logs, JSON
# reading, waiting for "ready", and a loopback file server.
# Usage: . node_lib.sh NAME (sets $dir).
set -uo pipefail
dir=$(mktemp -d "/tmp/zmesh-$1.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in "$dir"/*.err; do [ -f "$f" ] && { echo "--- $f"; tail -n 12 "$f"; }; done
  exit 1
}
json() { python3 -c "import json,sys; d=json.load(open('$1')); print($2)"; }
wait_ready() {  # FILE: the daemon printed "ready"
  for _ in $(seq 200); do grep -q '^ready$' "$1" 2>/dev/null && return 0; sleep 0.05; done
  fail "no ready line in $1"
}
# Serves $dir/www on loopback, with NAME (default "blob"), BYTES (default 3 MB) of random
# bytes; sets $port and $want (the file's SHA-256).
start_file_server() {  # [NAME BYTES]
  mkdir -p "$dir/www"
  head -c "${2:-3000000}" /dev/urandom > "$dir/www/${1:-blob}"
  want=$(sha256sum < "$dir/www/${1:-blob}" | cut -d' ' -f1)
  python3 -m http.server 0 --bind 127.0.0.1 --directory "$dir/www" > "$dir/www.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do grep -q "port" "$dir/www.out" && break; sleep 0.05; done
  port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$dir/www.out" | head -1)
  [ -n "$port" ] || fail "no file server"
}

metric() {  # CONFIG NAME: the value of an unlabelled sample of a node's metrics
  "$zmesh" metrics --config "$1" > "$dir/m.txt" 2>/dev/null
  awk -v n="$2" '$1 == n { print $2 }' "$dir/m.txt"
}

# A small zmesh network on loopback: a bootstrap (also a relay), RELAYS relays of which
# the last ${exits:-1} are exits, and a client that learns them from the bootstrap; no
# spare circuits. Links over LINK (udp, tcp, ws, wss, webrtc or webrtc-tls, or several
# joined by '+': every node then runs all of them). $client_extra, if set, goes into the client's
# [transport] section. Sets $socks (the client's SOCKS5 address) and pid_of[NODE_ID]
# (every relay's process) and $client_pid. Config files: $dir/NET-{b,r1..,c}.toml.
# Usage: declare -A pid_of; start_network NET LINK RELAYS
start_network() {
  local net=$1 link=$2 relays=$3 boot i roles part
  local transport='udp_listen = ""'  # on by default: off unless LINK names it
  [[ "+$link+" == *+udp+* ]] && transport='udp_listen = "127.0.0.1:0"'
  for part in ${link//+/ }; do
    case $part in
      udp) ;;
      tcp) transport+=$'\ntcp_listen = "127.0.0.1:0"' ;;
      ws) transport+=$'\nws_listen = "127.0.0.1:0"' ;;
      wss) transport+=$'\nws_listen = "127.0.0.1:0"\nws_tls = true' ;;
      webrtc) transport+=$'\nwebrtc_listen = "127.0.0.1:0"\nwebrtc_local_addresses = ["127.0.0.1"]' ;;
      webrtc-tls) transport+=$'\nwebrtc_listen = "127.0.0.1:0"\nwebrtc_local_addresses = ["127.0.0.1"]\nwebrtc_tls = true' ;;
      *) fail "start_network: unknown link $part" ;;
    esac
  done
  net_config() {  # NAME ROLES CORE_EXTRA TRANSPORT_EXTRA (and $EXTRA_<NAME>, appended)
    local own="EXTRA_$1"
    cat > "$dir/$net-$1.toml" <<CONF
[core]
roles = $2
data_dir = "$dir/$net-$1"
$3
[transport]
$transport
$4
[circuit]
preemptive_circuits = 0
allow_private_addresses = true
[monitoring]
prometheus_addr = ""
[security]
allow_private_exit = true
${NODE_EXTRA_CONFIG:-}
${!own:-}
CONF
  }
  net_config b '["relay", "bootstrap"]' "" 'directory_listen = "127.0.0.1:0"'
  "$zmesh" node --config "$dir/$net-b.toml" > "$dir/$net-b.out" 2> "$dir/$net-b.err" &
  pids+=($!)
  local -A started=([b]=$!)
  wait_ready "$dir/$net-b.out"
  boot=$(sed -n 's/^bootstrap: //p' "$dir/$net-b.out")
  for i in $(seq "$relays"); do
    roles='["relay"]'
    [ "$i" -gt $((relays - ${exits:-1})) ] && roles='["relay", "exit"]'
    net_config "r$i" "$roles" "bootstrap = [\"$boot\"]" ""
    "$zmesh" node --config "$dir/$net-r$i.toml" > "$dir/$net-r$i.out" 2> "$dir/$net-r$i.err" &
    pids+=($!)
    started[r$i]=$!
  done
  for i in "${!started[@]}"; do
    wait_ready "$dir/$net-$i.out"
    "$zmesh" status --config "$dir/$net-$i.toml" --format json > "$dir/s.json"
    pid_of[$(json "$dir/s.json" "d['node_id']")]=${started[$i]}
  done
  net_config c '["client"]' "bootstrap = [\"$boot\"]" "socks_listen = \"127.0.0.1:0\"
${client_extra:-}"
  "$zmesh" node --config "$dir/$net-c.toml" > "$dir/$net-c.out" 2> "$dir/$net-c.err" &
  client_pid=$!
  pids+=($!)
  wait_ready "$dir/$net-c.out"
  socks=$(sed -n 's/^listening: socks5 //p' "$dir/$net-c.out")
  for _ in $(seq 200); do
    "$zmesh" status --config "$dir/$net-c.toml" --format json > "$dir/s.json" 2>/dev/null
    [ "$(json "$dir/s.json" "d['relays_known']")" -ge $((relays + 1)) ] && return 0
    sleep 0.05
  done
  fail "$net: the client knows $(json "$dir/s.json" "d['relays_known']") relays, not $((relays + 1))"
}
# The middle relay (second hop) of the circuit carrying the client's only stream.
middle_relay() {  # NET
  "$zmesh" streams --config "$dir/$1-c.toml" --format json > "$dir/streams.json"
  "$zmesh" circuits --config "$dir/$1-c.toml" --format json > "$dir/circuits.json"
  python3 - "$dir/streams.json" "$dir/circuits.json" <<'PY'
import json, sys
streams = json.load(open(sys.argv[1]))["streams"]
circuits = {c["id"]: c for c in json.load(open(sys.argv[2]))["circuits"]}
[s] = streams
print(circuits[s["circuit"]]["path"][1])
PY
}

#!/usr/bin/env bash
# zmesh node as an operator runs it: three relay daemons (one an exit) and a client daemon
# with seccomp on, real curl through the client's SOCKS port, then the CLI over the gRPC
# control API (status --format json must report the traffic), Prometheus text checked by
# promtool, SIGHUP reloads (good and bad), a TCP control address with a token, key file
# permission checks, privilege drop (when run as root) and SIGTERM -> exit 0.
zmesh=$1
. "$(dirname "$0")/node_lib.sh" daemon

# --- configuration errors and --dry-run -----------------------------------------------
printf '[core]\nroles = ["client"]\n[circuit]\nrelays = ["nonsense"]\n' > "$dir/bad.toml"
if err=$("$zmesh" node --config "$dir/bad.toml" --dry-run 2>&1); then fail "bad relays accepted"; fi
echo "$err" | grep -q "circuit.relays: entry 1: expected .TRANSPORT://HOST:PORT\[,...\] id=HEX" || fail "relay line error: $err"
printf '[core]\nroles = ["wizard"]\n' > "$dir/bad2.toml"
if err=$("$zmesh" node --config "$dir/bad2.toml" 2>&1); then fail "bad role accepted"; fi
echo "$err" | grep -q "bad2.toml:2: core.roles: must be a list of client relay exit bootstrap" \
  || fail "role error: $err"
printf '[transport]\nudp_listen = ""\nws_listen = "127.0.0.1:0"\norder = ["udp", "tcp", "udp"]\n' > "$dir/bad3.toml"
if err=$("$zmesh" node --config "$dir/bad3.toml" --dry-run 2>&1); then fail "bad transport order accepted"; fi
echo "$err" | grep -q "transport.order: udp is named twice" || fail "order error: $err"
echo "$err" | grep -q "transport.order: names none of this node's links (ws)" || fail "order error: $err"

# --- three relays --------------------------------------------------------------------
for i in 1 2 3; do
  roles='["relay"]'
  [ "$i" = 3 ] && roles='["relay", "exit"]'
  cat > "$dir/r$i.toml" <<EOF
[core]
roles = $roles
data_dir = "$dir/r$i"
[transport]
udp_listen = "127.0.0.1:0"
[monitoring]
prometheus_addr = ""
[circuit]
allow_private_addresses = true
[security]
allow_private_exit = true
EOF
done
user_set=()
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then user_set=(--set security.user=nobody); fi
"$zmesh" node --config "$dir/r1.toml" --dry-run | grep -q "valid; roles relay" || fail "dry run"
[ -e "$dir/r1" ] && fail "--dry-run created the data directory"
for i in 1 2 3; do
  extra=()
  [ "$i" = 2 ] && extra=("${user_set[@]}")
  "$zmesh" node --config "$dir/r$i.toml" "${extra[@]}" > "$dir/r$i.out" 2> "$dir/r$i.err" &
  pids+=($!)
done
for i in 1 2 3; do wait_ready "$dir/r$i.out"; done
[ "$(stat -c %a "$dir/r1/identity.key")" = 600 ] || fail "identity key not 0600"
[ "$(stat -c %a "$dir/r1/control.sock")" = 600 ] || fail "control socket not 0600"
if [ ${#user_set[@]} -gt 0 ]; then
  uid=$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/${pids[1]}/status")
  [ "$uid" = "65534 65534 65534 65534" ] || fail "relay 2 did not drop to nobody: Uid $uid"
  echo "relay 2 runs as nobody"
fi

# --- the client, with seccomp ------------------------------------------------------------
{
  echo '[core]'
  echo 'roles = ["client"]'
  echo "data_dir = \"$dir/c\""
  echo 'log_level = "info"'
  echo '[transport]'
  echo 'udp_listen = "127.0.0.1:0"'
  echo 'socks_listen = "127.0.0.1:0"'
  echo '[monitoring]'
  echo 'prometheus_addr = "127.0.0.1:0"'
  echo '[security]'
  echo 'enable_seccomp = true'
  echo '[circuit]'
  echo 'relays = ['
  for i in 1 2 3; do sed -n 's/^contact: \(.*\)$/  "\1",/p' "$dir/r$i.out"; done
  echo ']'
} > "$dir/c.toml"
"$zmesh" config validate "$dir/c.toml" >/dev/null || fail "client config does not validate"
# LeakSanitizer (sanitizer builds) stops the world with a non-thread clone and ptrace,
# which the seccomp filter refuses by design: no leak check for this one process.
ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
  "$zmesh" node --config "$dir/c.toml" > "$dir/c.out" 2> "$dir/c.err" &
client=$!
pids+=($client)
wait_ready "$dir/c.out"
socks=$(sed -n 's/^listening: socks5 //p' "$dir/c.out")
metrics=$(sed -n 's/^listening: metrics //p' "$dir/c.out")

# A file server on loopback, fetched through the circuit.
# Preemptive circuits: two are built before anyone asks, and the first stream uses one.
for _ in $(seq 100); do
  "$zmesh" status --config "$dir/c.toml" --format json > "$dir/pre.json"
  [ "$(json "$dir/pre.json" "d['circuits_built']")" = 2 ] && break
  sleep 0.05
done
[ "$(json "$dir/pre.json" "d['client_circuits']")" = 2 ] || fail "no preemptive circuits: $(cat "$dir/pre.json")"
start_file_server
curl -sf --max-time 30 --socks5-hostname "$socks" "http://127.0.0.1:$port/blob" -o "$dir/got" \
  || fail "download through the daemon"
cmp -s "$dir/www/blob" "$dir/got" || fail "downloaded bytes differ"
# Spares are built for the port asked for last: a second isolation key gets one ready.
curl -sf --max-time 30 --socks5-hostname "$socks" -U other:x "http://127.0.0.1:$port/blob" \
  -o /dev/null || fail "second download"

# --- the CLI over the control API ------------------------------------------------------
"$zmesh" status --config "$dir/c.toml" --format json > "$dir/status.json" || fail "status json"
[ "$(json "$dir/status.json" "d['seccomp']")" = True ] || fail "seccomp not reported on"
[ "$(json "$dir/status.json" "int(d['circuits_built']) >= 1")" = True ] || fail "no circuit in status"
[ "$(json "$dir/status.json" "int(d['streams_opened']) >= 1")" = True ] || fail "no stream in status"
[ "$(json "$dir/status.json" "int(d['link_bytes_in']) > 3000000")" = True ] \
  || fail "status does not count the download: $(cat "$dir/status.json")"
"$zmesh" status --config "$dir/c.toml" > "$dir/status.txt" || fail "status table"
grep -q "^roles *client$" "$dir/status.txt" || fail "status table: $(cat "$dir/status.txt")"
timeout 3 "$zmesh" status --config "$dir/c.toml" --format json --watch --interval 0.3 > "$dir/watch.out"
[ "$(grep -c '"node_id"' "$dir/watch.out")" -ge 3 ] || fail "status --watch did not repeat"
"$zmesh" circuits --config "$dir/c.toml" > "$dir/circuits.txt" || fail "circuits table"
grep -Eq "^[0-9]+ +built +3 " "$dir/circuits.txt" || fail "circuits table: $(cat "$dir/circuits.txt")"
# The first hop sees the client as an anonymous peer, never by address.
anonymous=0
for i in 1 2 3; do
  "$zmesh" peers --config "$dir/r$i.toml" --format json > "$dir/peers$i.json" || fail "peers"
  n=$(json "$dir/peers$i.json" "sum(1 for p in d['peers'] if not p['node_key'])")
  shown=$(json "$dir/peers$i.json" "sum(1 for p in d['peers'] if not p['node_key'] and p['address'] != 'client')")
  [ "$shown" = 0 ] || fail "relay $i shows a client's address"
  anonymous=$((anonymous + n))
done
[ "$anonymous" -ge 1 ] || fail "no relay shows the client as a peer"
"$zmesh" metrics --config "$dir/c.toml" --format influx > "$dir/influx.txt" || fail "influx metrics"
grep -q "^zmesh_client_circuits_built_total value=" "$dir/influx.txt" \
  || fail "influx metrics"
"$zmesh" metrics --config "$dir/c.toml" --format json > "$dir/m.json" || fail "json metrics"
python3 -c "import json; json.load(open('$dir/m.json'))" || fail "metrics json does not parse"
curl -sf "http://$metrics/metrics" -o "$dir/metrics.txt" || fail "Prometheus endpoint"
promtool check metrics < "$dir/metrics.txt" || fail "promtool rejects the daemon's metrics"
grep -q 'zmesh_client_circuits_built_by_hops_total{hops="3"} [1-9]' "$dir/metrics.txt" \
  || fail "circuits by hop count"
grep -q 'zmesh_client_circuit_build_seconds_count [1-9]' "$dir/metrics.txt" || fail "build histogram"
grep -q '^zmesh_proxy_preemptive_used_total [1-9]' "$dir/metrics.txt" || fail "the first stream did not use a ready circuit"

# Events and NEWNYM: a new identity retires the circuit; the next stream builds another.
"$zmesh" events --config "$dir/c.toml" --count 8 > "$dir/events.out" &
events=$!
sleep 0.3
"$zmesh" newnym --config "$dir/c.toml" | grep -q "new identity" || fail "newnym"
curl -sf --max-time 30 --socks5-hostname "$socks" "http://127.0.0.1:$port/blob" -o /dev/null \
  || fail "download after newnym"
pids+=($events)
for _ in $(seq 100); do grep -q '"kind":"new_identity"' "$dir/events.out" && break; sleep 0.05; done
grep -q '"kind":"new_identity"' "$dir/events.out" || fail "no new_identity event: $(cat "$dir/events.out")"
"$zmesh" status --config "$dir/c.toml" --format json > "$dir/status2.json"
[ "$(json "$dir/status2.json" "int(d['circuits_built']) >= 2")" = True ] || fail "newnym kept the circuit"

# Streams and circuits by id: a long download shows up as a stream; closing its circuit
# ends it; an unknown id is an error.
head -c 40000000 /dev/zero > "$dir/www/big"
curl -s --max-time 60 --limit-rate 1M --socks5-hostname "$socks" "http://127.0.0.1:$port/big" \
  -o /dev/null &
slow=$!
for _ in $(seq 100); do
  "$zmesh" streams --config "$dir/c.toml" --format json > "$dir/streams.json"
  [ "$(json "$dir/streams.json" "len(d['streams'])")" -ge 1 ] && break
  sleep 0.05
done
[ "$(json "$dir/streams.json" "d['streams'][0]['target']")" = "127.0.0.1:$port" ] \
  || fail "streams: $(cat "$dir/streams.json")"
cid=$(json "$dir/streams.json" "d['streams'][0]['circuit']")
"$zmesh" close-circuit --config "$dir/c.toml" "$cid" | grep -q "closed circuit $cid" || fail "close-circuit"
wait $slow
rc=$?
[ $rc = 18 ] || [ $rc = 56 ] || fail "closing the circuit did not break its download (curl exit $rc)"
echo "closing the circuit broke its download (curl exit $rc)"
if "$zmesh" close-circuit --config "$dir/c.toml" 999999 >/dev/null; then fail "closed an unknown circuit"; fi

# --- SIGHUP ----------------------------------------------------------------------------
sed -i 's/^log_level = "info"/log_level = "debug"/; s/^socks_listen = .*/socks_listen = "127.0.0.1:1"/' "$dir/c.toml"
kill -HUP $client
for _ in $(seq 100); do grep -q "reload: applied" "$dir/c.err" && break; sleep 0.05; done
grep -q "reload: applied core.log_level=debug" "$dir/c.err" || fail "log level not reloaded"
grep -q "not applied, need a restart: transport.socks_listen" "$dir/c.err" || fail "restart-only option not named"
echo 'hops = 99' >> "$dir/c.toml"
kill -HUP $client
for _ in $(seq 100); do grep -q "reload refused" "$dir/c.err" && break; sleep 0.05; done
grep -q "reload refused" "$dir/c.err" || fail "a bad reload was not refused"
curl -sf --max-time 30 --socks5-hostname "$socks" "http://127.0.0.1:$port/blob" -o /dev/null \
  || fail "the node stopped working after a refused reload"

# --- a TCP control address with a token ------------------------------------------------
cat > "$dir/tcp.toml" <<EOF
[core]
roles = ["relay"]
data_dir = "$dir/t"
[transport]
udp_listen = "127.0.0.1:0"
[monitoring]
prometheus_addr = ""
control_socket = "off"
control_addr = "127.0.0.1:0"
EOF
"$zmesh" node --config "$dir/tcp.toml" > "$dir/t.out" 2> "$dir/t.err" &
pids+=($!)
wait_ready "$dir/t.out"
ctl=$(sed -n 's/^listening: control //p' "$dir/t.out")
[ "$(stat -c %a "$dir/t/control.token")" = 600 ] || fail "token file not 0600"
"$zmesh" status --control "$ctl" --token-file "$dir/t/control.token" >/dev/null || fail "status over TCP"
echo wrong > "$dir/wrong.token"
if err=$("$zmesh" status --control "$ctl" --token-file "$dir/wrong.token" 2>&1); then
  fail "a wrong token was accepted"
fi
echo "$err" | grep -q "refused the control token" || fail "wrong token message: $err"

# --- no daemon, and unsafe key files ---------------------------------------------------
if err=$("$zmesh" status --control "$dir/none.sock" 2>&1); then fail "status without a daemon"; fi
echo "$err" | grep -q "no zmesh daemon answers at $dir/none.sock" || fail "no-daemon message: $err"
mkdir -p "$dir/k" && cp "$dir/r3/identity.key" "$dir/k/identity.key" && chmod 644 "$dir/k/identity.key"
if err=$(timeout 10 "$zmesh" node --config "$dir/r3.toml" --set "core.data_dir=$dir/k" 2>&1); then
  fail "a world-readable key file was used"
fi
echo "$err" | grep -q "readable by other users" || fail "key permission message: $err"

# --- SIGTERM: circuits closed, exit 0 --------------------------------------------------
kill -TERM $client
wait $client
rc=$?
[ $rc = 0 ] || fail "client exit code $rc after SIGTERM"
grep -q "shutting down: closing [1-9][0-9]* client" "$dir/c.err" || fail "no shutdown report"
grep -q "stopped cleanly" "$dir/c.err" || fail "not stopped cleanly"
[ -e "$dir/c/control.sock" ] && fail "control socket left behind"
for p in "${pids[@]:0:3}"; do
  kill -TERM "$p"
  wait "$p" || fail "a relay exited with $? on SIGTERM"
done
echo "daemon: all checks passed"

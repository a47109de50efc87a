#!/usr/bin/env bash
# Exits with upstream proxies (docs/exits.md), each a real program from Debian on loopback:
#  - exit.upstream through microsocks (SOCKS5 with a user name and password): a file
#    fetched through three zmesh hops and the proxy, SHA-256 checked;
#  - exit.upstream through tinyproxy (HTTP CONNECT): the same, and its 500 for a refused
#    port coming back as a general failure;
#  - exit.onion_proxy to tor, a Tor client with no network (its only bridge is a closed
#    loopback port): a well-formed .onion name reaches tor, which gives up after its
#    SocksTimeout (5 s) with reply 6, and a malformed one gets tor's reply 1 at once;
#  - exit.i2p_proxy to i2pd with no network: zzz.i2p reaches it and its reply 4 comes back;
#  - .onion and .i2p names only ever go to the exit that advertises reaching them: the
#    other exit (whose policy accepts the port) counts no such stream, and a network
#    without such an exit answers 4 (host unreachable) at the client.
# A missing program skips its part with a message (scripts/install-deps.sh installs them).
zmesh=$1
. "$(dirname "$0")/node_lib.sh" upstream

have() { command -v "$1" > /dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
missing=()
for p in tor i2pd microsocks tinyproxy curl; do have "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "SKIP: ${missing[*]} not installed (scripts/install-deps.sh installs them)"
  exit 0
fi
PATH=$PATH:/usr/sbin

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_port() {  # PORT: something listens there
  for _ in $(seq 200); do
    (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null && return 0
    sleep 0.05
  done
  fail "nothing listens on $1"
}
# The SOCKS reply code curl saw ("(N)"), or "ok" when the transfer worked.
socks_reply() {  # SOCKS URL
  local out
  if out=$(curl -sS -m 60 --socks5-hostname "$1" -o /dev/null "$2" 2>&1); then
    echo ok
  else
    echo "$out" | sed -n 's/.*SOCKS5 connect.*(\([0-9]*\)).*/\1/p; s/.*Can.t complete SOCKS5 connection to .*(\([0-9]*\)).*/\1/p' | head -1
  fi
}
exit_metric() {  # NET NODE NAME
  "$zmesh" metrics --config "$dir/$1-$2.toml" > "$dir/m.txt" 2> /dev/null
  awk -v n="$3" '$1 == n || index($1, n "{") == 1 { s += $2 } END { print s + 0 }' "$dir/m.txt"
}

# --- the options are checked ------------------------------------------------------------
printf '[core]\nroles = ["relay", "exit"]\n[exit]\nupstream = "socks5://localhost:1080"\nonion_proxy = "tor"\n' > "$dir/bad.toml"
if err=$("$zmesh" config validate "$dir/bad.toml" 2>&1); then fail "bad exit.upstream accepted"; fi
echo "$err" | grep -q "exit.upstream: .*the proxy must be named by an IP address" || fail "upstream error: $err"
echo "$err" | grep -q "exit.onion_proxy: .*expected socks5://IP:PORT or http://IP:PORT" || fail "onion_proxy error: $err"

start_file_server blob 2000000
chmod 777 "$dir"  # tinyproxy and i2pd may drop to another user when run as root

# --- the upstreams ----------------------------------------------------------------------
tor_port=$(free_port)
cat > "$dir/torrc" <<EOF
DataDirectory $dir/tor
SocksPort 127.0.0.1:$tor_port
UseBridges 1
Bridge 127.0.0.1:9
SocksTimeout 5
Log notice file $dir/tor.log
AvoidDiskWrites 1
EOF
tor -f "$dir/torrc" --quiet &
pids+=($!)

i2p_port=$(free_port)
i2pd --datadir="$dir/i2pd" --conf=/dev/null --tunconf=/dev/null --log=file \
  --logfile="$dir/i2pd.log" --loglevel=warn --http.enabled=false --httpproxy.enabled=false \
  --socksproxy.address=127.0.0.1 --socksproxy.port="$i2p_port" --sam.enabled=false \
  --i2pcontrol.enabled=false --upnp.enabled=false --reseed.urls=http://127.0.0.1:9/ \
  --host=127.0.0.1 --port="$(free_port)" --ntcp2.enabled=true --ssu2.enabled=false \
  --addressbook.enabled=false > "$dir/i2pd.out" 2>&1 &
pids+=($!)

ms_port=$(free_port)
microsocks -i 127.0.0.1 -p "$ms_port" -u zm -P 'pass word' > "$dir/microsocks.out" 2>&1 &
pids+=($!)

tp_port=$(free_port)
cat > "$dir/tinyproxy.conf" <<EOF
Port $tp_port
Listen 127.0.0.1
Timeout 30
MaxClients 50
Allow 127.0.0.1
LogLevel Info
LogFile "$dir/tinyproxy.log"
EOF
[ "$(id -u)" = 0 ] && printf 'User nobody\nGroup nogroup\n' >> "$dir/tinyproxy.conf"
tinyproxy -d -c "$dir/tinyproxy.conf" > "$dir/tinyproxy.out" 2>&1 &
pids+=($!)
for p in "$tor_port" "$i2p_port" "$ms_port" "$tp_port"; do wait_port "$p"; done

# --- network A: r4 reaches .onion and .i2p and sends the rest through microsocks; r3 is
# a plain exit for port 80 only (so it is a candidate for the .onion and .i2p names on 80,
# and never for the file server's port).
EXTRA_r3=$'exit_policy = ["accept *:80", "reject *:*"]'
EXTRA_r4="[exit]
onion_proxy = \"socks5://127.0.0.1:$tor_port\"
i2p_proxy = \"socks5://127.0.0.1:$i2p_port\"
upstream = \"socks5://zm:pass word@127.0.0.1:$ms_port\""
declare -A pid_of
exits=2 start_network A udp 4
grep -q "reaches-onion reaches-i2p upstream" "$dir/A-r4.out" \
  || fail "r4's contact line does not advertise its abilities: $(grep contact "$dir/A-r4.out")"

got=$(curl -sS -m 60 --socks5-hostname "$socks" "http://127.0.0.1:$port/blob" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "fetch through microsocks: sha256 $got, want $want"
[ "$(exit_metric A r4 zmesh_exit_upstream_connected_total)" -ge 1 ] || fail "r4 used no upstream"
echo "exit.upstream via microsocks (SOCKS5, user/password): 2 MB fetched, SHA-256 matches"

start=$(date +%s.%N)
code=$(socks_reply "$socks" "http://duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion/")
took=$(python3 -c "print(round($(date +%s.%N) - $start, 1))")
[ "$code" = 6 ] || fail "well-formed .onion: SOCKS reply '$code', want 6 (tor timed out)"
# Tor checks its streams' age once a second: 4 to 6 s. Not zmesh's (60 s), not at once.
python3 -c "import sys; sys.exit(0 if 3 <= $took <= 30 else 1)" || fail "reply 6 after ${took}s: not tor's 5 s"
code=$(socks_reply "$socks" "http://not-an-onion-address.onion/")
[ "$code" = 1 ] || fail "malformed .onion: SOCKS reply '$code', want 1 (tor refuses it)"
echo ".onion via tor: reply 6 after ${took}s (tor's SocksTimeout), malformed address reply 1"

code=$(socks_reply "$socks" "http://zzz.i2p/")
[ "$code" = 4 ] || fail ".i2p: SOCKS reply '$code', want 4 (i2pd does not know the name)"
echo ".i2p via i2pd: reply 4 (i2pd's answer for an unknown name)"

failed=$(exit_metric A r4 zmesh_exit_upstream_failed_total)
[ "$failed" = 3 ] || fail "r4 counted $failed failed upstream streams, want 3"
for m in zmesh_exit_streams_opened_total zmesh_exit_refused_ability_total zmesh_exit_resolve_failed_total; do
  [ "$(exit_metric A r3 "$m")" = 0 ] || fail "the plain exit r3 saw a stream ($m)"
done
echo "the plain exit r3 saw none of the .onion and .i2p streams"

# --- network B: one exit, HTTP CONNECT through tinyproxy, no .onion or .i2p ability ------
unset EXTRA_r3
EXTRA_r3="[exit]
upstream = \"http://127.0.0.1:$tp_port\""
exits=1 start_network B udp 3
got=$(curl -sS -m 60 --socks5-hostname "$socks" "http://127.0.0.1:$port/blob" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "fetch through tinyproxy: sha256 $got, want $want"
grep -q "CONNECT" "$dir/tinyproxy.log" || fail "tinyproxy logged no CONNECT"
echo "exit.upstream via tinyproxy (HTTP CONNECT): 2 MB fetched, SHA-256 matches"
code=$(socks_reply "$socks" "http://127.0.0.1:9/")
[ "$code" = 1 ] || fail "refused port through tinyproxy: SOCKS reply '$code', want 1 (its 500)"
echo "tinyproxy's 500 for a refused port: reply 1"

for name in abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz234567.onion zzz.i2p; do
  code=$(socks_reply "$socks" "http://$name/")
  [ "$code" = 4 ] || fail "$name with no capable exit: SOCKS reply '$code', want 4"
done
# Its one fetch and one refused port, nothing else (refused_ability would count a .onion
# or .i2p name that reached it).
for m in zmesh_exit_streams_opened_total=1 zmesh_exit_upstream_failed_total=1 \
  zmesh_exit_refused_ability_total=0 zmesh_exit_resolve_failed_total=0; do
  [ "$(exit_metric B r3 "${m%=*}")" = "${m#*=}" ] || fail "B's exit: ${m%=*} = $(exit_metric B r3 "${m%=*}"), want ${m#*=}"
done
grep -q "no 3-hop path to an exit that reaches .onion names" "$dir/B-c.err" \
  || fail "the client did not say why the .onion stream failed"
echo "no exit reaches .onion or .i2p: reply 4 at the client, the exit never saw the names"

# --- the attack: a client told (by a hand-edited contact line) that B's exit reaches
# .onion sends it one. The exit must refuse it, neither resolving the name nor handing
# it to its generic upstream (tinyproxy would try DNS).
{
  echo '[core]'
  echo 'roles = ["client"]'
  echo "data_dir = \"$dir/liar\""
  echo '[transport]'
  echo 'udp_listen = "127.0.0.1:0"'
  echo 'socks_listen = "127.0.0.1:0"'
  echo '[monitoring]'
  echo 'prometheus_addr = ""'
  echo '[circuit]'
  echo 'preemptive_circuits = 0'
  echo 'relays = ['
  for n in b r1 r2; do sed -n 's/^contact: \(.*\)$/  "\1",/p' "$dir/B-$n.out"; done
  sed -n 's/^contact: \(.*\)$/  "\1 reaches-onion",/p' "$dir/B-r3.out"
  echo ']'
} > "$dir/liar.toml"
"$zmesh" node --config "$dir/liar.toml" > "$dir/liar.out" 2> "$dir/liar.err" &
pids+=($!)
wait_ready "$dir/liar.out"
liar=$(sed -n 's/^listening: socks5 //p' "$dir/liar.out")
tp_connects=$(grep -c "CONNECT" "$dir/tinyproxy.log")
code=$(socks_reply "$liar" "http://abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz234567.onion/")
[ "$code" = 2 ] || fail "a .onion name at an exit without the ability: SOCKS reply '$code', want 2"
[ "$(exit_metric B r3 zmesh_exit_refused_ability_total)" = 1 ] || fail "B's exit did not count the refusal"
[ "$(exit_metric B r3 zmesh_exit_resolve_failed_total)" = 0 ] || fail "B's exit tried to resolve it"
[ "$(exit_metric B r3 zmesh_exit_upstream_failed_total)" = 1 ] || fail "B's exit handed it to its upstream"
[ "$(grep -c "CONNECT" "$dir/tinyproxy.log")" = "$tp_connects" ] || fail "tinyproxy saw the .onion name"
grep -q "abcdefghijklmnop" "$dir"/B-*.err && fail "a node logged the destination"
echo "attack: a .onion name sent to an exit without the ability is refused (reply 2), not resolved, not passed upstream"
echo "PASS"

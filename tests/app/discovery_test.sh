#!/usr/bin/env bash
# Discovery on loopback: one bootstrap node, 18 relays (3 exits) that publish signed
# descriptors to it, and a client that knows only the bootstrap's address and key. The
# client learns the relays, builds circuits through them and downloads a file (SHA-256
# checked). A bad descriptor is refused and counted; a client given the wrong bootstrap
# key learns nothing.
zmesh=$1
. "$(dirname "$0")/node_lib.sh" discovery
node_config() {  # NAME ROLES EXTRA
  cat > "$dir/$1.toml" <<EOF
[core]
roles = $2
data_dir = "$dir/$1"
$3
[transport]
udp_listen = "127.0.0.1:0"
$4
[monitoring]
prometheus_addr = ""
[circuit]
allow_private_addresses = true
[security]
allow_private_exit = true
EOF
}

node_config b '["relay", "bootstrap"]' "" 'directory_listen = "127.0.0.1:0"
dht_listen = "127.0.0.1:0"'
"$zmesh" node --config "$dir/b.toml" > "$dir/b.out" 2> "$dir/b.err" &
pids+=($!)
wait_ready "$dir/b.out"
boot=$(sed -n 's/^bootstrap: //p' "$dir/b.out")
directory=${boot%% *}
[ -n "$boot" ] || fail "the bootstrap node printed no bootstrap line"

for i in $(seq 18); do
  roles='["relay"]'
  [ "$i" -le 3 ] && roles='["relay", "exit"]'
  node_config "r$i" "$roles" "bootstrap = [\"$boot\"]" 'dht_listen = "127.0.0.1:0"'
  "$zmesh" node --config "$dir/r$i.toml" > "$dir/r$i.out" 2> "$dir/r$i.err" &
  pids+=($!)
done
for _ in $(seq 200); do
  curl -sf "http://$directory/zmesh/v1/descriptors.txt" -o "$dir/descriptors.txt"
  [ "$(wc -l < "$dir/descriptors.txt")" -ge 19 ] && break
  sleep 0.1
done
[ "$(wc -l < "$dir/descriptors.txt")" = 19 ] || fail "bootstrap knows $(wc -l < "$dir/descriptors.txt") relays, not 19"
[ "$(grep -c ' relay,exit ' "$dir/descriptors.txt")" = 3 ] || fail "exits in the directory"

node_config c '["client"]' "bootstrap = [\"$boot\"]" 'socks_listen = "127.0.0.1:0"'
"$zmesh" node --config "$dir/c.toml" > "$dir/c.out" 2> "$dir/c.err" &
pids+=($!)
wait_ready "$dir/c.out"
socks=$(sed -n 's/^listening: socks5 //p' "$dir/c.out")
for _ in $(seq 100); do
  "$zmesh" status --config "$dir/c.toml" --format json > "$dir/status.json" 2>/dev/null
  [ "$(json "$dir/status.json" "d['relays_known']")" = 19 ] && break
  sleep 0.05
done
[ "$(json "$dir/status.json" "d['relays_known']")" = 19 ] || fail "client knows $(json "$dir/status.json" "d['relays_known']") relays"

start_file_server
for user in a b c; do  # three isolated circuits, so three paths
  curl -sf --max-time 30 --socks5-hostname "$socks" -U "$user:x" "http://127.0.0.1:$port/blob" \
    -o "$dir/got" || fail "download through learned relays"
  [ "$(sha256sum < "$dir/got")" = "$(sha256sum < "$dir/www/blob")" ] || fail "SHA-256 differs"
done
"$zmesh" circuits --config "$dir/c.toml" --format json > "$dir/circuits.json"
python3 - "$dir/circuits.json" "$dir/descriptors.txt" <<'EOF' || fail "a circuit used a relay the client did not learn"
import json, sys
circuits = json.load(open(sys.argv[1]))["circuits"]
known = {line.split()[0] for line in open(sys.argv[2])}
assert len(circuits) >= 3, circuits
for c in circuits:
    assert c["hops"] == 3 and all(p in known for p in c["path"]), c
EOF

# Guards: three, first hops of every circuit, written to the peer store at shutdown and
# kept across a restart.
"$zmesh" status --config "$dir/c.toml" --format json > "$dir/status.json"
[ "$(json "$dir/status.json" "d['guards']")" = 3 ] || fail "client has $(json "$dir/status.json" "d['guards']") guards"
client=${pids[-2]}
kill -TERM "$client"
wait "$client" || fail "client exit code on SIGTERM"
guards() { python3 -c "import json; print(sorted(p['id'] for p in json.load(open('$dir/c/peers.json'))['peers'] if p['guard_since']))"; }
before=$(guards)
python3 -c "import json; p=json.load(open('$dir/c/peers.json'))['peers']; assert sum(1 for x in p if x['successes'] > 0 and 'latency_ms' in x) >= 3, p; assert sum(1 for x in p if x.get('bandwidth', 0) > 1e5) >= 3, p" \
  || fail "no measurements in the peer store: $(cat "$dir/c/peers.json")"
[ "$(stat -c %a "$dir/c/peers.json")" = 600 ] || fail "peer store not 0600"
: > "$dir/c.out"
"$zmesh" node --config "$dir/c.toml" > "$dir/c.out" 2> "$dir/c2.err" &
pids+=($!)
wait_ready "$dir/c.out"
grep -Eq "peer store: [0-9]+ relays, 3 guards" "$dir/c2.err" || fail "peer store not loaded: $(cat "$dir/c2.err")"
socks=$(sed -n 's/^listening: socks5 //p' "$dir/c.out")
curl -sf --max-time 30 --socks5-hostname "$socks" "http://127.0.0.1:$port/blob" -o /dev/null \
  || fail "download after restart"
"$zmesh" circuits --config "$dir/c.toml" --format json > "$dir/circuits2.json"
python3 - "$dir/circuits2.json" "$dir/c/peers.json" <<'EOF' || fail "the first hop is not a remembered guard"
import json, sys, base64
circuits = json.load(open(sys.argv[1]))["circuits"]
guards = {p["id"] for p in json.load(open(sys.argv[2]))["peers"] if p["guard_since"]}
def hex_of(b32):
    return base64.b32decode(b32.upper() + "=" * (-len(b32) % 8)).hex()
assert circuits and all(hex_of(c["path"][0]) in guards for c in circuits), (circuits, guards)
EOF
[ "$before" = "$(guards)" ] || fail "guards changed across a restart"

# A forged descriptor is refused and counted.
head -c 300 /dev/urandom > "$dir/junk"
code=$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$dir/junk" \
  -H 'Content-Type: application/octet-stream' "http://$directory/zmesh/v1/descriptor")
[ "$code" = 400 ] || fail "a junk descriptor got HTTP $code"
"$zmesh" metrics --config "$dir/b.toml" > "$dir/b.metrics" || fail "bootstrap metrics"
grep -q '^zmesh_directory_rejected_malformed_total 1$' "$dir/b.metrics" || fail "the rejection was not counted"

# A client that knows only LINE as its bootstrap learns all 19 relays and downloads
# through them. Usage: learning_client NAME LINE TRANSPORT_EXTRA HOW
learning_client() {
  node_config "$1" '["client"]' "bootstrap = [\"$2\"]" "socks_listen = \"127.0.0.1:0\"
$3"
  "$zmesh" node --config "$dir/$1.toml" > "$dir/$1.out" 2> "$dir/$1.err" &
  pids+=($!)
  wait_ready "$dir/$1.out"
  for _ in $(seq 300); do
    "$zmesh" status --config "$dir/$1.toml" --format json > "$dir/$1.json" 2>/dev/null
    [ "$(json "$dir/$1.json" "d['relays_known']")" -ge 19 ] && break
    sleep 0.1
  done
  [ "$(json "$dir/$1.json" "d['relays_known']")" -ge 19 ] || fail "the client learning over $4 knows $(json "$dir/$1.json" "d['relays_known']") relays"
  local s
  s=$(sed -n 's/^listening: socks5 //p' "$dir/$1.out")
  curl -sf --max-time 30 --socks5-hostname "$s" "http://127.0.0.1:$port/blob" -o "$dir/got-$1" \
    || fail "download through relays learned over $4"
  cmp -s "$dir/got-$1" "$dir/www/blob" || fail "download through relays learned over $4 differs"
}

# The wrong bootstrap key: the bundle does not verify and nothing is learned.
wrong="$directory $(printf '%064d' 0)"
node_config w '["client"]' "bootstrap = [\"$wrong\"]" 'socks_listen = "127.0.0.1:0"'
"$zmesh" node --config "$dir/w.toml" > "$dir/w.out" 2> "$dir/w.err" &
pids+=($!)
wait_ready "$dir/w.out"
for _ in $(seq 100); do grep -q "does not verify" "$dir/w.err" && break; sleep 0.05; done
grep -q "does not verify" "$dir/w.err" || fail "a bundle under the wrong key was not flagged"
"$zmesh" status --config "$dir/w.toml" --format json > "$dir/w.json"
[ "$(json "$dir/w.json" "d['relays_known']")" = 0 ] || fail "learned relays from an unverified bundle"
# The DHT alone: a client whose bootstrap entry has no working directory address (port 1)
# but the bootstrap's DHT address learns the relays from the DHT, verifies them and uses
# them.
boot_key=$(echo "$boot" | awk '{print $2}')
dht_only="127.0.0.1:1 $boot_key $(echo "$boot" | grep -o 'dht=[^ ]*')"
learning_client h "$dht_only" 'dht_listen = "127.0.0.1:0"' "the DHT"

# Over a link: a client whose bootstrap entry has no working HTTP address (port 1) but
# the bootstrap's link address and keys fetches the signed bundle over a one-hop circuit
# to it, as a stream to the directory.
link_only="127.0.0.1:1 $boot_key $(echo "$boot" | grep -o 'link=.*')"
learning_client l "$link_only" "" "a link"
"$zmesh" metrics --config "$dir/b.toml" > "$dir/b.metrics" || fail "bootstrap metrics"
served=$(awk '$1 == "zmesh_exit_directory_served_total" { print $2 }' "$dir/b.metrics")
[ "${served:-0}" -ge 1 ] || fail "the bootstrap served no directory over a link"
# The bootstrap node is no exit: it connected no destination.
[ "$(awk '$1 == "zmesh_exit_streams_opened_total" { print $2 }' "$dir/b.metrics")" = 0 ] \
  || fail "the bootstrap node opened a destination stream"
echo "discovery: all checks passed"

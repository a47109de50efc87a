#!/usr/bin/env bash
# A private Tor network on loopback (TestingTorNetwork: 3 directory authorities with keys
# made here by tor-gencert, 3 relays, an onion service in front of a file server, and a
# Tor client) as the exit.onion_proxy of a zmesh network: a file fetched from the onion
# service with curl through the zmesh client's SOCKS port, three zmesh hops, the Tor
# client and the onion service's circuits; SHA-256 checked. `make test-tor` (it takes
# minutes to bootstrap: not in `make test`). Skips when tor or tor-gencert is missing.
# Usage: tor_network_test.sh ZMESH [TIMEOUT_SECONDS]
zmesh=$1
limit=${2:-600}
. "$(dirname "$0")/node_lib.sh" tornet
PATH=$PATH:/usr/sbin
for p in tor tor-gencert curl; do
  command -v "$p" > /dev/null || { echo "SKIP: $p not installed (scripts/install-deps.sh)"; exit 0; }
done
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
t0=$(date +%s)
elapsed() { echo $(($(date +%s) - t0)); }

start_file_server blob 1000000
chmod 777 "$dir"

# --- keys and the authorities' lines ----------------------------------------------------
common() {  # NAME
  cat <<EOF
TestingTorNetwork 1
DataDirectory $dir/tor-$1
RunAsDaemon 0
Log notice file $dir/tor-$1.log
SafeLogging 0
ShutdownWaitLength 0
AssumeReachable 1
PathsNeededToBuildCircuits 0.25
TestingDirAuthVoteGuard *
TestingDirAuthVoteHSDir *
TestingDirAuthVoteExit *
V3AuthVotingInterval 10
V3AuthVoteDelay 2
V3AuthDistDelay 2
TestingV3AuthInitialVotingInterval 10
TestingV3AuthInitialVoteDelay 2
TestingV3AuthInitialDistDelay 2
TestingV3AuthVotingStartOffset 0
TestingServerDownloadInitialDelay 0
TestingClientDownloadInitialDelay 0
TestingClientConsensusDownloadInitialDelay 0
EOF
}
auth_lines=""
declare -A orport dirport
for a in a1 a2 a3; do
  orport[$a]=$(free_port)
  dirport[$a]=$(free_port)
  mkdir -p "$dir/tor-$a/keys"
  chmod 700 "$dir/tor-$a"
  (cd "$dir/tor-$a/keys" && echo "" | tor-gencert --create-identity-key --passphrase-fd 0 -m 12 \
    -a "127.0.0.1:${dirport[$a]}" > /dev/null 2>&1) || fail "tor-gencert failed for $a"
  v3=$(sed -n 's/^fingerprint //p' "$dir/tor-$a/keys/authority_certificate")
  { common "$a"; echo "ORPort 127.0.0.1:${orport[$a]}"; echo "Address 127.0.0.1"; } > "$dir/$a.fp.torrc"
  tor --list-fingerprint -f "$dir/$a.fp.torrc" \
    --DirAuthority "x 127.0.0.1:1 0000000000000000000000000000000000000000" > /dev/null 2>&1
  fp=$(awk '{ print $2 }' "$dir/tor-$a/fingerprint" 2> /dev/null)
  [ ${#fp} = 40 ] || fail "no fingerprint for $a"
  auth_lines+="DirAuthority $a orport=${orport[$a]} no-v2 v3ident=$v3 127.0.0.1:${dirport[$a]} $fp"$'\n'
done

start_tor() {  # NAME EXTRA...
  local name=$1
  shift
  { common "$name"; printf '%s' "$auth_lines"; printf '%s\n' "$@"; } > "$dir/$name.torrc"
  mkdir -p "$dir/tor-$name"
  chmod 700 "$dir/tor-$name"
  tor -f "$dir/$name.torrc" --quiet &
  pids+=($!)
}
for a in a1 a2 a3; do
  start_tor "$a" "ORPort 127.0.0.1:${orport[$a]}" "DirPort 127.0.0.1:${dirport[$a]}" \
    "Address 127.0.0.1" "AuthoritativeDirectory 1" "V3AuthoritativeDirectory 1" \
    "ContactInfo $a@zmesh.test" "ExitPolicy reject *:*" "Nickname $a" "SocksPort 0"
done
for r in r1 r2 r3; do
  start_tor "$r" "ORPort 127.0.0.1:$(free_port)" "DirPort 127.0.0.1:$(free_port)" \
    "Address 127.0.0.1" "ExitPolicy reject *:*" "Nickname $r" "SocksPort 0"
done
mkdir -p "$dir/hs"
chmod 700 "$dir/hs"
start_tor hs "SocksPort 0" "HiddenServiceDir $dir/hs" "HiddenServicePort 80 127.0.0.1:$port"
tor_socks=$(free_port)
start_tor client "SocksPort 127.0.0.1:$tor_socks"

for _ in $(seq 600); do [ -s "$dir/hs/hostname" ] && break; sleep 0.5; done
onion=$(cat "$dir/hs/hostname" 2> /dev/null)
[ -n "$onion" ] || fail "the onion service has no address"
echo "onion service $onion after $(elapsed)s"

# The Tor client alone first: how long the network takes to carry a rendezvous.
while :; do
  got=$(curl -s -m 30 --socks5-hostname "127.0.0.1:$tor_socks" "http://$onion/blob" | sha256sum | cut -d' ' -f1)
  [ "$got" = "$want" ] && break
  [ "$(elapsed)" -gt "$limit" ] && { tail -n 5 "$dir"/tor-client.log "$dir"/tor-hs.log; fail "no rendezvous after ${limit}s"; }
  sleep 2
done
echo "private Tor network carries the onion service after $(elapsed)s"

EXTRA_r3="[exit]
onion_proxy = \"socks5://127.0.0.1:$tor_socks\""
declare -A pid_of
exits=1 start_network Z udp 3
got=$(curl -sS -m 120 --socks5-hostname "$socks" "http://$onion/blob" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "through zmesh: sha256 $got, want $want"
echo "1 MB from the onion service through 3 zmesh hops and the private Tor network: SHA-256 matches ($(elapsed)s in all)"
echo "PASS"

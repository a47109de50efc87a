#!/usr/bin/env bash
# Two real zmesh processes on 127.0.0.1: 100,000 cells each way over UDP and over TCP,
# every echo checked byte for byte; then garbage at the server, which must stay up.
set -uo pipefail
zmesh=$1
count=${ZMESH_TEST_CELLS:-100000}
dir=$(mktemp -d)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$dir/server.out" ] && cat "$dir/server.out" "$dir/server.err"; exit 1; }

"$zmesh" keygen --out "$dir/server.key" >/dev/null || fail keygen
"$zmesh" link serve --key "$dir/server.key" --udp 127.0.0.1:0 --tcp 127.0.0.1:0 --echo \
  >"$dir/server.out" 2>"$dir/server.err" &
server=$!
for _ in $(seq 1 100); do grep -q '^ready ' "$dir/server.out" && break; sleep 0.1; done
ready=$(grep '^ready ' "$dir/server.out") || fail "server never became ready"
udp=$(echo "$ready" | sed -n 's/.* udp=\([^ ]*\).*/\1/p')
tcp=$(echo "$ready" | sed -n 's/.* tcp=\([^ ]*\).*/\1/p')
key=$(echo "$ready" | sed -n 's/.* key=\([0-9a-f]*\).*/\1/p')

for t in udp tcp; do
  addr=$udp; [ $t = tcp ] && addr=$tcp
  out=$("$zmesh" link send --transport $t --peer "$addr" --peer-key "$key" --count "$count" \
        --window 256 --timeout 120) || fail "$t transfer: $out"
  echo "$out" | head -1
  echo "$out" | grep -q "^ok transport=$t cells=$count/$count corrupt=0" || fail "$t: $out"
done

for p in nk xk; do
  out=$("$zmesh" link send --transport udp --pattern $p --peer "$udp" --peer-key "$key" \
        --count 1000 --timeout 30) || fail "pattern $p: $out"
done

# Links are hybrid (ML-KEM) by default; a classical client can still connect here...
"$zmesh" link send --classical --peer "$udp" --peer-key "$key" --count 100 --timeout 30 >/dev/null \
  || fail "classical link to a default server"

# A wrong server key never gets a session: mac1 fails and the client gives up.
wrong=$("$zmesh" keygen --out "$dir/other.key" >/dev/null && "$zmesh" id "$dir/other.key" | awk '/x25519/ {print $2}')
if "$zmesh" link send --peer "$udp" --peer-key "$wrong" --count 10 --timeout 3 >/dev/null 2>&1; then
  fail "link with the wrong key succeeded"
fi

# Garbage: random and wrong-sized datagrams, broken TCP framing. The server must survive.
python3 - "$udp" "$tcp" <<'PY'
import os, socket, sys
def hp(s):
    h, p = s.rsplit(':', 1); return h, int(p)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(2000):
    size = 1232 if i % 2 else (i % 1500) + 1
    data = bytearray(os.urandom(size))
    if size == 1232: data[0] = i % 4
    u.sendto(bytes(data), hp(sys.argv[1]))
for payload in (b'\x00\x05hello', b'\xff\xff' + os.urandom(100), os.urandom(5000)):
    t = socket.create_connection(hp(sys.argv[2]))
    t.sendall(payload)
    t.settimeout(5)
    try:
        assert t.recv(10) == b'', 'server kept a misbehaving TCP peer'
    except ConnectionResetError:
        pass
    t.close()
PY
[ $? -eq 0 ] || fail "garbage injection"
out=$("$zmesh" link send --transport udp --peer "$udp" --peer-key "$key" --count 1000 --timeout 30) \
  || fail "server unusable after garbage: $out"

kill -TERM "$server"
wait "$server"; rc=$?
server=
[ $rc -eq 0 ] || fail "server exit code $rc after SIGTERM"
grep -q '^stats udp .*drop_malformed=[1-9]' "$dir/server.out" || fail "malformed datagrams not counted"

# ...but not to one that requires post-quantum handshakes: refused, logged and counted.
"$zmesh" link serve --key "$dir/server.key" --require-pq --echo >"$dir/pq.out" 2>"$dir/pq.err" &
server=$!
for _ in $(seq 1 100); do grep -q '^ready ' "$dir/pq.out" && break; sleep 0.1; done
pq_udp=$(sed -n 's/.* udp=\([^ ]*\).*/\1/p' "$dir/pq.out")
if "$zmesh" link send --classical --peer "$pq_udp" --peer-key "$key" --count 10 --timeout 3 >/dev/null 2>&1; then
  fail "a classical link to a post-quantum-only server succeeded"
fi
"$zmesh" link send --peer "$pq_udp" --peer-key "$key" --count 100 --timeout 30 >/dev/null \
  || fail "hybrid link to a post-quantum-only server"
kill -TERM "$server"; wait "$server"; server=
grep -q "refused a classical-only link handshake" "$dir/pq.err" || fail "no log line for the refusal"
grep -q '^stats udp .*drop_classical_refused=[1-9]' "$dir/pq.out" || fail "refusal not counted"
grep -q '^stats udp .*transport_rejects=[1-9]' "$dir/server.out" || fail "wrong-sized datagrams not counted"
grep -q '^stats tcp .*transport_rejects=[1-9]' "$dir/server.out" || fail "broken TCP framing not counted"
echo "two-process link test: all checks passed"

#!/usr/bin/env bash
# Runs an example against a real HTTP server on loopback and checks the SHA-256 it prints
# equals sha256sum of the file served: run_example.sh COMMAND... (HOST PORT PATH appended).
set -uo pipefail
dir=$(mktemp -d /tmp/zmesh-example.XXXXXX)
server=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

mkdir "$dir/www"
head -c $((1536 * 1024 + 77)) /dev/urandom > "$dir/www/page.bin"
expected=$(sha256sum "$dir/www/page.bin" | cut -d' ' -f1)

python3 -u -m http.server --bind 127.0.0.1 --directory "$dir/www" 0 > "$dir/http.log" 2>&1 &
server=$!
port=
for _ in $(seq 100); do
  port=$(sed -n 's/.* port \([0-9]*\) .*/\1/p' "$dir/http.log" | head -1)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || fail "the HTTP server did not start: $(cat "$dir/http.log")"

out=$(timeout 300 "$@" 127.0.0.1 "$port" /page.bin) || fail "the example failed (exit $?)"
got=$(printf '%s\n' "$out" | tail -1)
[ "$got" = "$expected" ] || fail "SHA-256 $got, the file's is $expected"
grep -q '"GET /page.bin' "$dir/http.log" || fail "the server saw no request"
echo "example: $* fetched the page through zmesh, SHA-256 $got matches"

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
# Serves $dir/www (3 MB of random bytes as "blob") on loopback; sets $port.
start_file_server() {
  mkdir -p "$dir/www"
  head -c 3000000 /dev/urandom > "$dir/www/blob"
  python3 -m http.server 0 --bind 127.0.0.1 --directory "$dir/www" > "$dir/www.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do grep -q "port" "$dir/www.out" && break; sleep 0.05; done
  port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$dir/www.out" | head -1)
  [ -n "$port" ] || fail "no file server"
}

#!/usr/bin/env bash
# Recovery time after a relay dies (issue 6): a zmesh network of separate daemons on
# loopback (bootstrap, relays, one exit, a client), a stream carrying a steady 3.2 MB/s;
# the middle relay of its circuit is killed (SIGKILL) and we measure how long the stream
# stands still, as the application sees it: the longest pause in arrivals after the kill
# (from the kill, when the pause spans it). ROUNDS kills per link transport; each round
# kills another relay, and the dead ones stay listed in the directory.
zmesh=$(realpath "${1:-build/zmesh}")
rounds=${ROUNDS:-6}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/app/node_lib.sh" recovery-bench
paced=$here/recovery_paced.py

python3 "$paced" serve > "$dir/paced.port" &
pids+=($!)
for _ in $(seq 100); do [ -s "$dir/paced.port" ] && break; sleep 0.05; done
target=$(cat "$dir/paced.port")

for link in tcp udp; do
  declare -A pid_of=()
  start_network "$link" "$link" $((rounds * 2 + 2))
  results=()
  for r in $(seq "$rounds"); do
    out="$dir/$link-$r.arrivals"
    python3 "$paced" fetch "${socks##*:}" "round$r" "$target" 4 "$out" &
    fetcher=$!
    for _ in $(seq 400); do [ -e "$out.ready" ] && break; sleep 0.05; done
    [ -e "$out.ready" ] || fail "$link round $r: no data"
    middle=$(middle_relay "$link") || fail "$link round $r: no stream"
    victim=${pid_of[$middle]:-}
    [ -n "$victim" ] || fail "$link round $r: middle relay not ours"
    kill -KILL "$victim"
    killed=$(date +%s.%N)
    wait "$fetcher" || fail "$link round $r: the stream broke"
    read -r ms normal < <(python3 "$paced" gap "$out" "$killed")
    results+=("$ms")
    echo "$link round $r: the stream stood still $ms ms after the middle relay died (longest pause in the second before: $normal ms)"
  done
  python3 - "$link" "${results[@]}" <<'PY'
import statistics, sys
link, xs = sys.argv[1], sorted(float(x) for x in sys.argv[2:])
print(f"{link} links: longest pause after the kill: median {statistics.median(xs):.0f} ms, min {xs[0]:.0f}, max {xs[-1]:.0f} ms over {len(xs)} kills")
PY
done

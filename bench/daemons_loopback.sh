#!/usr/bin/env bash
# What users run: a zmesh network of separate `zmesh node` processes on loopback (a
# bootstrap relay, 6 relays of which 2 are exits, and a client), measured through the
# client's SOCKS5 port with curl from a loopback HTTP server:
#   bulk       100 MiB through a fresh 3-hop circuit, RUNS times (new SOCKS user each)
#   cpu        CPU seconds of all zmesh processes together per 100 MiB of that transfer
#   ttfb       1 KiB, time to first byte on a built circuit, median of 30, and direct
#   build      3-hop circuit build (hybrid), 20 fresh circuits, median (the client's
#              zmesh_client_last_circuit_build_seconds after each new isolation key)
#   rss        peak RSS (VmHWM) of every process, after the transfers
#   idle       CPU per process over 20 s without traffic
# for each link transport in LINKS (default "udp tcp").
# Usage: bench/daemons_loopback.sh [ZMESH]   (MIB=100 RUNS=3 LINKS="udp tcp" IDLE=20)
# NODE_EXTRA_CONFIG is appended to every node's configuration, e.g.
#   NODE_EXTRA_CONFIG=$'[performance]\nworker_threads = 1'   (handshakes on the event loop)
set -uo pipefail
zmesh=$(realpath "${1:-build/zmesh}")
mib=${MIB:-100}
runs=${RUNS:-3}
idle_s=${IDLE:-20}
here=$(dirname "$(realpath "$0")")
. "$here/../tests/app/node_lib.sh" daemons-bench
hz=$(getconf CLK_TCK)

cpu_ticks() {  # PID...: utime + stime of them all, in clock ticks
  local t=0 p f
  for p in "$@"; do
    read -ra f < "/proc/$p/stat" || continue
    # utime and stime are fields 14 and 15 (the command name, "(zmesh)", has no space)
    t=$((t + f[13] + f[14]))
  done
  echo "$t"
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

mkdir -p "$dir/www"
head -c $((mib * 1048576)) /dev/urandom > "$dir/www/big.bin"
head -c 1024 /dev/urandom > "$dir/www/1k.bin"
python3 -u -c '
import functools, http.server, socket, sys
class Q(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
http.server.ThreadingHTTPServer.request_queue_size = 1024  # default 5 overflows
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Q, directory=sys.argv[1]))
print(s.server_address[1], flush=True); s.serve_forever()' "$dir/www" > "$dir/port" &
pids+=($!)
for _ in $(seq 1 50); do [ -s "$dir/port" ] && break; sleep 0.1; done
url="http://127.0.0.1:$(cat "$dir/port")"

direct_ttfb=$(for _ in $(seq 30); do curl -s -o /dev/null -w '%{time_starttransfer}\n' "$url/1k.bin"; done | median)
direct_bulk=$(curl -s -o /dev/null -w '%{speed_download}' "$url/big.bin")
echo "direct: 1 KiB time to first byte $(python3 -c "print(f'{$direct_ttfb*1e3:.2f}')") ms, bulk $(python3 -c "print(f'{$direct_bulk/1048576:.0f}')") MiB/s"
echo "$(nproc) cores, $(uname -r), $(date -u +%FT%TZ)"

for link in ${LINKS:-udp tcp}; do
  declare -A pid_of=()
  exits=2 start_network "$link" "$link" 6
  all=("${pid_of[@]}" "$client_pid")
  via=(--socks5-hostname "$socks")
  cfg="$dir/$link-c.toml"

  # Circuit builds: each new SOCKS user is a new isolation key, so a new circuit.
  builds=()
  for i in $(seq 20); do
    curl -s -o /dev/null -U "build$i:x" "${via[@]}" "$url/1k.bin" || fail "$link: request $i failed"
    builds+=("$(metric "$cfg" zmesh_client_last_circuit_build_seconds)")
  done
  build=$(printf '%s\n' "${builds[@]}" | median)

  ttfb=$(for _ in $(seq 30); do curl -s -o /dev/null -U ttfb:x -w '%{time_starttransfer}\n' "${via[@]}" "$url/1k.bin"; done | median)

  speeds=()
  ticks=0
  for r in $(seq "$runs"); do
    curl -s -o /dev/null -U "warm$r:x" "${via[@]}" "$url/1k.bin"  # its circuit, built
    before=$(cpu_ticks "${all[@]}")
    s=$(curl -s -o "$dir/got.bin" -U "warm$r:x" -w '%{speed_download}' "${via[@]}" "$url/big.bin")
    after=$(cpu_ticks "${all[@]}")
    cmp -s "$dir/got.bin" "$dir/www/big.bin" || fail "$link: run $r: the file came back different"
    speeds+=("$s")
    ticks=$((ticks + after - before))
  done
  bulk=$(printf '%s\n' "${speeds[@]}" | median)
  cpu=$(python3 -c "print(f'{$ticks / $hz / $runs * 100 / $mib:.2f}')")
  rss=$(for p in "${all[@]}"; do awk '/VmHWM/ { printf "%d ", $2 / 1024 }' "/proc/$p/status"; done)

  sleep 2
  idle_before=()
  for p in "${all[@]}"; do idle_before+=("$(cpu_ticks "$p")"); done
  sleep "$idle_s"
  idle=""
  for i in "${!all[@]}"; do
    idle+="$(python3 -c "print(f'{($(cpu_ticks "${all[$i]}") - ${idle_before[$i]}) / $hz / $idle_s * 100:.2f}')")% "
  done

  python3 - <<PY
speeds = [$(IFS=,; echo "${speeds[*]}")]
print(f"$link, 3 hops, hybrid, separate daemons:")
print(f"  bulk {$bulk/1048576:.1f} MiB/s (runs: {', '.join(f'{s/1048576:.1f}' for s in speeds)}; direct {$direct_bulk/1048576:.0f})")
print(f"  CPU of all zmesh processes: $cpu s per 100 MiB")
print(f"  1 KiB time to first byte {$ttfb*1e3:.2f} ms (direct {$direct_ttfb*1e3:.2f} ms)")
print(f"  circuit build {$build*1e3:.2f} ms (median of 20)")
print(f"  peak RSS per process (MiB, relays then client): $rss")
print(f"  idle CPU per process over ${idle_s} s: $idle")
PY
  for p in "${all[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${all[@]}"; do while kill -0 "$p" 2>/dev/null; do sleep 0.05; done; done
done

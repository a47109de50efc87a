#!/usr/bin/env bash
# Many concurrent streams through one client daemon (issue 22): a network of separate
# `zmesh node` processes on loopback (a bootstrap relay, 4 relays of which the last is the
# only exit, a client), and bench/many_streams.py opening N SOCKS5 streams at once to a
# loopback server, holding them all open, then closing them. Prints successes, failures
# by SOCKS reply, time to open (median, p99, max) and the memory per open stream of the
# client and the exit, then the client's circuit and stream counters.
# Usage: bench/many_streams.sh [ZMESH]   (N=10000 LINK=udp; JSON=1 for one JSON line)
set -uo pipefail
zmesh=$(realpath "${1:-build/zmesh}")
n=${N:-10000}
here=$(dirname "$(realpath "$0")")
. "$here/../tests/app/node_lib.sh" many-streams
declare -A pid_of=()
exits=1 start_network m "${LINK:-udp}" 4
exit_pid=$(pgrep -f -- "--config $dir/m-r4.toml" | head -1)
[ -n "$exit_pid" ] || fail "no exit process"
echo "$n streams, $(nproc) cores, $(uname -r), $(date -u +%FT%TZ)"
python3 "$here/many_streams.py" "${socks##*:}" "$n" --pids "client=$client_pid,exit=$exit_pid" \
  ${JSON:+--json} || fail "many_streams.py failed"
"$zmesh" metrics --config "$dir/m-c.toml" 2>/dev/null |
  grep -E '^zmesh_(client_circuits|pool|proxy)_[a-z_]*(total)? ' | awk '$2 != 0'

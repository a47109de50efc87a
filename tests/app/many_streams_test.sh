#!/usr/bin/env bash
# Many concurrent streams through one client daemon (issue 22), separate daemons on
# loopback: N SOCKS5 streams (default 2,500; more than two circuits' worth, 1,024 each)
# opened at once to a loopback server and held open together must all succeed, spread
# over overflow circuits of the same isolation key, and (unless ZMESH_TEST_MEMORY=0, as
# under ASan) cost the client and the exit at most 32 KiB each per open stream.
# ZMESH_TEST_OPENING=K opens at most K at a time (they still end up all open together):
# under ASan, 1,200 handshakes at once starved the daemons on 2 cores until the overflow
# circuit's build timed out.
zmesh=$(realpath "$1")
n=${ZMESH_TEST_STREAMS:-2500}
here=$(dirname "$(realpath "$0")")
. "$here/node_lib.sh" many-streams-test
declare -A pid_of=()
exits=1 start_network m udp 3
exit_pid=$(pgrep -f -- "--config $dir/m-r3.toml" | head -1)
[ -n "$exit_pid" ] || fail "no exit process"
python3 "$here/../../bench/many_streams.py" "${socks##*:}" "$n" \
  --pids "client=$client_pid,exit=$exit_pid" --json --timeout 240 \
  --max-opening "${ZMESH_TEST_OPENING:-0}" > "$dir/r.json" 2> "$dir/py.err" ||
  { cat "$dir/py.err"; fail "many_streams.py failed"; }
cat "$dir/r.json"
ok=$(json "$dir/r.json" "d['succeeded']")
[ "$ok" = "$n" ] || fail "$ok of $n streams succeeded: $(json "$dir/r.json" "d['failed']")"
overflow=$(metric "$dir/m-c.toml" zmesh_proxy_overflow_circuits_total)
[ "${overflow:-0}" -ge $(( (n - 1) / 1024 )) ] || fail "$overflow overflow circuits for $n streams"
if [ "${ZMESH_TEST_MEMORY:-1}" = 1 ]; then
  for who in client exit; do
    per=$(json "$dir/r.json" "(d['rss_kib_all_open']['$who'] - d['rss_kib_before']['$who']) // $n")
    [ "$per" -le 32 ] || fail "$who: $per KiB per open stream (at most 32)"
    echo "$who: $per KiB per open stream"
  done
fi
echo "PASS: $n concurrent streams, $overflow overflow circuits"

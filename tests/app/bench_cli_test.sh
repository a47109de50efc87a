#!/usr/bin/env bash
# zmesh bench (issue 21) against a small network of daemons on loopback: throughput,
# latency per circuit length and stress through the client's SOCKS5 entry to the sink the
# command runs itself (and once to a 'zmesh bench sink'), as JSON; the numbers are there, positive and consistent. Then a bad
# argument and a daemon that is not running: one line each, a non-zero exit.
zmesh=$1
. "$(dirname "$0")/node_lib.sh" bench
declare -A pid_of
start_network bn udp 3
cfg="$dir/bn-c.toml"
check() {  # NAME PYTHON-ASSERTIONS over d (the JSON)
  python3 - "$dir/$1.json" "$2" <<'PY' || fail "$1: $(cat "$dir/$1.json")"
import json, sys
d = json.load(open(sys.argv[1]))
exec(sys.argv[2])
PY
}

"$zmesh" bench throughput --config "$cfg" --bytes 8M --format json > "$dir/tp.json" 2> "$dir/tp.err" \
  || fail "throughput: $(cat "$dir/tp.err")"
check tp '
assert d["test"] == "throughput" and d["hops"] is None
assert d["bytes"] == 8 * 1048576, d
assert d["seconds"] > 0 and d["open_ms"] > 0 and d["mib_per_second"] > 0
assert abs(d["mib_per_second"] - 8 / d["seconds"]) < 0.01 * d["mib_per_second"] + 0.01
'
"$zmesh" bench latency --config "$cfg" --hops 2,3 --rounds 10 --format json > "$dir/lat.json" 2> "$dir/lat.err" \
  || fail "latency: $(cat "$dir/lat.err")"
check lat '
r = d["results"]
assert [x["hops"] for x in r] == [2, 3], r
for x in r:
    t = x["rtt_ms"]
    assert x["open_ms"] > 0 and t["count"] == 10
    assert 0 < t["min"] <= t["p50"] <= t["p90"] <= t["max"], t
'
# The lengths asked for are the lengths built (the SOCKS user names hops-2 and hops-3).
"$zmesh" metrics --config "$cfg" > "$dir/m.txt"
for h in 2 3; do
  grep -q "^zmesh_client_circuits_built_by_hops_total{.*hops=\"$h\".*} [1-9]" "$dir/m.txt" \
    || fail "no $h-hop circuit built: $(grep by_hops "$dir/m.txt")"
done
"$zmesh" bench stress --config "$cfg" --duration 3 --connections 20 --format json > "$dir/st.json" 2> "$dir/st.err" \
  || fail "stress: $(cat "$dir/st.err")"
check st '
assert d["connections"] == 20 and d["failed"] == 0, d
assert d["completed"] >= 20 and d["requests_per_second"] > 0
assert 2.9 <= d["seconds"] < 15, d
assert abs(d["requests_per_second"] - d["completed"] / d["seconds"]) < 0.01 * d["requests_per_second"] + 0.01
t = d["rtt_ms"]
assert t["count"] == d["completed"] and 0 < t["p50"] <= t["p99"] <= t["max"], t
'
# A sink of its own ('zmesh bench sink'), named with --target.
"$zmesh" bench sink --listen 127.0.0.1:0 > "$dir/sink.out" 2> "$dir/sink.err" &
pids+=($!)
for _ in $(seq 100); do grep -q '^listening' "$dir/sink.out" && break; sleep 0.05; done
sink=$(sed -n 's/^listening: bench sink //p' "$dir/sink.out")
[ -n "$sink" ] || fail "bench sink: no listening line"
"$zmesh" bench throughput --config "$cfg" --target "$sink" --bytes 1M --format json > "$dir/tt.json" 2> "$dir/tt.err" \
  || fail "throughput --target: $(cat "$dir/tt.err")"
check tt 'assert d["bytes"] == 1048576 and d["mib_per_second"] > 0, d'
# Progress goes to stderr, never into the JSON on stdout.
[ -s "$dir/st.err" ] || fail "stress: no progress lines on stderr"

one_line() {  # NAME EXPECTED-EXIT: exit code and one line of stderr, no stdout
  [ "$2" = "$3" ] || fail "$1: exit $3, not $2"
  [ "$(wc -l < "$dir/$1.err")" -eq 1 ] || fail "$1: not one line: $(cat "$dir/$1.err")"
  [ ! -s "$dir/$1.out" ] || fail "$1: printed $(cat "$dir/$1.out")"
}
"$zmesh" bench latency --config "$cfg" --hops 3,9 > "$dir/bad.out" 2> "$dir/bad.err"
one_line bad 2 $?
grep -q -- "--hops: '3,9'" "$dir/bad.err" || fail "bad: $(cat "$dir/bad.err")"
"$zmesh" bench throughput --control "$dir/nobody.sock" > "$dir/gone.out" 2> "$dir/gone.err"
one_line gone 1 $?
# A SOCKS port nothing listens on: the same, naming the address.
"$zmesh" bench throughput --socks 127.0.0.1:1 > "$dir/nosocks.out" 2> "$dir/nosocks.err"
one_line nosocks 1 $?
grep -q "127.0.0.1:1" "$dir/nosocks.err" || fail "nosocks: $(cat "$dir/nosocks.err")"
echo "bench: throughput $(json "$dir/tp.json" "d['mib_per_second']") MiB/s," \
  "latency p50 $(json "$dir/lat.json" "[x['rtt_ms']['p50'] for x in d['results']]") ms," \
  "stress $(json "$dir/st.json" "d['completed']") round trips, 0 failed"

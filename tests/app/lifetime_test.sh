#!/usr/bin/env bash
# Circuit lifetime (issue 16, finding 6) on loopback: a client whose circuits live 2
# seconds (circuit.max_lifetime_seconds, set through the environment) downloads 16 MiB at
# 2 MiB/s. Its circuit is replaced under the stream (at least once: curl's rate limit throttles
# its own reads, so the exit may finish sending early), which moves to each
# fresh circuit to the same exit and resumes there; the download completes with the right
# SHA-256.
zmesh=$1
mib=16
. "$(dirname "$0")/node_lib.sh" lifetime

start_file_server big $((mib * 1048576))
export ZMESH_CIRCUIT_MAX_LIFETIME_SECONDS=2
declare -A pid_of
start_network udp udp 4
curl -sS --max-time 120 --limit-rate 2M --socks5-hostname "$socks" -U life:x \
  "http://127.0.0.1:$port/big" -o "$dir/got" 2> "$dir/curl.err" \
  || fail "curl failed: $(cat "$dir/curl.err")"
[ "$(sha256sum < "$dir/got" | cut -d' ' -f1)" = "$want" ] || fail "SHA-256 differs"
expired=$(metric "$dir/udp-c.toml" zmesh_client_circuits_expired_total)
resumed=$(metric "$dir/udp-c.toml" zmesh_proxy_streams_resumed_total)
[ "${expired:-0}" -ge 1 ] || fail "circuits were not replaced at their lifetime: $(grep client_ "$dir/m.txt")"
[ "${resumed:-0}" -ge 1 ] || fail "the stream did not move: $(grep proxy "$dir/m.txt")"
grep -q "circuit lifetime reached" "$dir/udp-c.err" || fail "no lifetime close logged"
echo "lifetime: ${mib} MiB over circuits living 2 s: ${expired} replaced, the stream moved ${resumed} times, SHA-256 matches"

#!/usr/bin/env bash
# Bootstrap progress of real daemons: a bootstrap node, three relays publishing to it and a
# client with a spare circuit that learns them. Each logs increasing "bootstrap: NN%" steps
# ending at "bootstrap: 100% ready", and `zmesh status` (table and JSON) and the metrics say
# 100% / ready. A client whose bootstrap node does not answer stays at 20% waiting for it,
# warns that it is stuck and claims no step beyond; one given the wrong bootstrap key
# stays at 30% waiting for a directory that verifies. `zmesh status --watch` redraws in
# place on a terminal, repeats blocks into a pipe and exits 0 on Ctrl-C; bad arguments and
# a missing daemon get one line.
zmesh=$1
. "$(dirname "$0")/node_lib.sh" bootstrap-progress

node_config() {  # NAME ROLES CORE_EXTRA TRANSPORT_EXTRA [CIRCUIT_EXTRA]
  cat > "$dir/$1.toml" <<EOF
[core]
roles = $2
data_dir = "$dir/$1"
$3
[transport]
udp_listen = "127.0.0.1:0"
$4
[circuit]
allow_private_addresses = true
${5:-}
[monitoring]
prometheus_addr = ""
[security]
allow_private_exit = true
EOF
}
start() {  # NAME
  "$zmesh" node --config "$dir/$1.toml" > "$dir/$1.out" 2> "$dir/$1.err" &
  pids+=($!)
  wait_ready "$dir/$1.out"
}
percent_of() {  # NAME: the node's bootstrap percent from `zmesh status --format json`
  "$zmesh" status --config "$dir/$1.toml" --format json > "$dir/$1.json" 2>/dev/null || return 1
  json "$dir/$1.json" "d['bootstrap_progress']['percent']"
}
wait_percent() {  # NAME PERCENT SECONDS
  local p=""
  for _ in $(seq $(($3 * 20))); do
    p=$(percent_of "$1")
    [ "$p" = "$2" ] && return 0
    sleep 0.05
  done
  fail "$1 is at ${p:-?}%, not $2%: $(cat "$dir/$1.json" 2>/dev/null)"
}
# The percentages NAME logged, in order, on one line: "10 20 30 40 100".
logged() { sed -n 's/.* bootstrap: \([0-9]*\)% .*/\1/p' "$dir/$1.err" | tr '\n' ' ' | sed 's/ $//'; }
expect_steps() {  # NAME "10 20 ... 100"
  local got
  got=$(logged "$1")
  [ "$got" = "$2" ] || fail "$1 logged bootstrap steps '$got', not '$2'"
  tail -n 50 "$dir/$1.err" | grep -q ' bootstrap: 100% ready$' || fail "$1 never logged 100% ready"
}

# --- a bootstrap node, three relays and a client that needs a circuit ------------------
node_config b '["relay", "bootstrap"]' "" 'directory_listen = "127.0.0.1:0"'
start b
boot=$(sed -n 's/^bootstrap: //p' "$dir/b.out")
directory=${boot%% *}
key=$(echo "$boot" | awk '{print $2}')
for i in 1 2 3; do
  roles='["relay"]'
  [ "$i" = 3 ] && roles='["relay", "exit"]'
  node_config "r$i" "$roles" "bootstrap = [\"$boot\"]" ""
  start "r$i"
done
# Ready relays have their descriptors in the directory: the client learns all four.
for n in b r1 r2 r3; do wait_percent "$n" 100 60; done
node_config c '["client"]' "bootstrap = [\"$boot\"]" 'socks_listen = "127.0.0.1:0"' \
  'preemptive_circuits = 1'
start c
wait_percent c 100 60
expect_steps b "10 20 100"
for i in 1 2 3; do expect_steps "r$i" "10 20 30 40 100"; done
expect_steps c "10 20 30 50 70 90 100"
# What each step was, and what the next waited for.
grep -q 'bootstrap: 20% links listening (udp); waiting for the bootstrap node to answer' "$dir/c.err" \
  || fail "client links line: $(grep 'bootstrap: 20%' "$dir/c.err")"
grep -Eq 'bootstrap: 50% directory fetched \(4 relays known\)' "$dir/c.err" \
  || fail "client directory line: $(grep 'bootstrap: 50%' "$dir/c.err")"
grep -q 'bootstrap: 70% enough relays for a 3-hop path (4 relays known, 1 exit); waiting for the first 3-hop circuit$' "$dir/c.err" \
  || fail "client relays line: $(grep 'bootstrap: 70%' "$dir/c.err")"
grep -q 'bootstrap: 90% first circuit built$' "$dir/c.err" || fail "client circuit line"
grep -q 'bootstrap: 40% descriptor published to 1 of 1 bootstrap nodes$' "$dir/r1.err" \
  || fail "relay publish line: $(grep 'bootstrap: 40%' "$dir/r1.err")"
grep -q 'bootstrap: 20% links listening (udp); directory served$' "$dir/b.err" || fail "bootstrap links line"
# Nothing at info or above names the bootstrap node's address.
if grep -E ' (info|warning) ' "$dir/c.err" "$dir/r1.err" | grep -F "$directory"; then
  fail "a bootstrap address was logged above debug"
fi

json "$dir/c.json" "d['bootstrap_progress']['step']" | grep -qx ready || fail "status step: $(cat "$dir/c.json")"
[ "$(json "$dir/c.json" "d['bootstrap_progress']['waiting_for']")" = "" ] || fail "ready but waiting"
"$zmesh" status --config "$dir/c.toml" > "$dir/c.table" || fail "status table"
grep -Eq '^bootstrapped +100% ready$' "$dir/c.table" || fail "status table: $(cat "$dir/c.table")"
[ "$(metric "$dir/c.toml" zmesh_bootstrap_progress)" = 100 ] || fail "client bootstrap gauge"
[ "$(metric "$dir/r1.toml" zmesh_bootstrap_progress)" = 100 ] || fail "relay bootstrap gauge"

# --- a client whose bootstrap node does not answer ---------------------------------------
node_config u '["client"]' "bootstrap = [\"127.0.0.1:1 $key\"]" 'socks_listen = "127.0.0.1:0"'
start u
for _ in $(seq 100); do
  percent_of u > /dev/null
  grep -q 'failed attempt' "$dir/u.json" && break
  sleep 0.05
done
[ "$(json "$dir/u.json" "d['bootstrap_progress']['percent']")" = 20 ] || fail "unreachable: $(cat "$dir/u.json")"
[ "$(json "$dir/u.json" "d['bootstrap_progress']['step']")" = links ] || fail "unreachable step"
json "$dir/u.json" "d['bootstrap_progress']['waiting_for']" \
  | grep -Eq '^the bootstrap node to answer \(([0-9]+ failed attempts, last|1 failed attempt): no answer\)$' \
  || fail "unreachable waits for: $(json "$dir/u.json" "d['bootstrap_progress']['waiting_for']")"
"$zmesh" status --config "$dir/u.toml" > "$dir/u.table"
grep -Eq '^bootstrapped +20% links listening \(udp\); waiting [0-9]+ s for the bootstrap node to answer' "$dir/u.table" \
  || fail "unreachable status table: $(grep bootstrapped "$dir/u.table")"
# Stuck: a warning after 10 s on the step.
for _ in $(seq 400); do
  grep -q 'warning bootstrap: still at 20% after' "$dir/u.err" && break
  sleep 0.05
done
grep -Eq 'warning bootstrap: still at 20% after 1[0-9] s; waiting for the bootstrap node to answer \([0-9]+ failed attempts, last: no answer\)' "$dir/u.err" \
  || fail "no stuck warning: $(grep bootstrap "$dir/u.err")"
[ "$(logged u)" = "10 20" ] || fail "the stuck client claimed progress: $(logged u)"
[ "$(metric "$dir/u.toml" zmesh_bootstrap_progress)" = 20 ] || fail "stuck client gauge"

# --- the wrong bootstrap key: answered, but no directory that verifies ------------------
node_config w '["client"]' "bootstrap = [\"$directory $(printf '%064d' 0)\"]" 'socks_listen = "127.0.0.1:0"'
start w
wait_percent w 30 20
for _ in $(seq 100); do
  percent_of w > /dev/null
  grep -q 'does not verify' "$dir/w.json" && break
  sleep 0.05
done
json "$dir/w.json" "d['bootstrap_progress']['waiting_for']" \
  | grep -q '^a verified directory from a bootstrap node (.*a bundle that does not verify: is the bootstrap key right?)$' \
  || fail "wrong key waits for: $(cat "$dir/w.json")"

# --- zmesh status --watch -------------------------------------------------------------
# Into a pipe: plain blocks one after another; SIGINT ends it with 0.
"$zmesh" status --config "$dir/c.toml" --watch --interval 0.2 > "$dir/watch.txt" 2> "$dir/watch.err" &
watcher=$!
for _ in $(seq 100); do [ "$(grep -c '^bootstrapped' "$dir/watch.txt")" -ge 3 ] && break; sleep 0.05; done
kill -INT "$watcher"
wait "$watcher" || fail "status --watch exit code $? on SIGINT"
[ "$(grep -c '^bootstrapped' "$dir/watch.txt")" -ge 3 ] || fail "--watch repeated $(grep -c '^bootstrapped' "$dir/watch.txt") times"
grep -q $'\033' "$dir/watch.txt" && fail "terminal escapes written into a pipe"
[ -s "$dir/watch.err" ] && fail "--watch wrote errors: $(cat "$dir/watch.err")"
# On a terminal: cursor home, lines cleared to their end, the rest of the screen cleared;
# Ctrl-C (SIGINT) exits 0 with the cursor shown again.
python3 - "$zmesh" "$dir/c.toml" <<'PY' || fail "status --watch on a terminal"
import os, pty, signal, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "status", "--config", sys.argv[2], "--watch", "--interval", "0.2"])
out = b""
deadline = time.time() + 20
while out.count(b"bootstrapped") < 3 and time.time() < deadline:
    try:
        out += os.read(fd, 65536)
    except OSError:
        break
os.kill(pid, signal.SIGINT)
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, status = os.waitpid(pid, 0)
assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
assert out.count(b"bootstrapped") >= 3, out
assert out.count(b"\x1b[H") >= 3 and b"\x1b[K" in out and b"\x1b[J" in out, out
assert out.rstrip().endswith(b"\x1b[?25h"), out[-80:]
assert b"100% ready" in out, out
PY

# --- bad arguments and a missing daemon: one line each ----------------------------------
one_line() {  # WHAT COMMAND...: fails with exit 1 or more and one line on stderr
  local what=$1
  shift
  if "$@" > "$dir/one.out" 2> "$dir/one.err"; then fail "$what: exit 0"; fi
  grep -q . "$dir/one.err" || fail "$what: nothing on stderr"
  [ "$(grep -cv 'Run with --help' "$dir/one.err")" = 1 ] || fail "$what: $(cat "$dir/one.err")"
}
one_line "interval 0" "$zmesh" status --config "$dir/c.toml" --watch --interval 0
grep -q -- "--interval" "$dir/one.err" || fail "interval error: $(cat "$dir/one.err")"
one_line "interval without watch" "$zmesh" status --config "$dir/c.toml" --interval 1
grep -q -- "--watch" "$dir/one.err" || fail "needs --watch: $(cat "$dir/one.err")"
one_line "interval not a number" "$zmesh" status --config "$dir/c.toml" --watch --interval soon
one_line "no daemon" "$zmesh" status --control "$dir/nothing.sock" --watch --interval 0.2
grep -q "no zmesh daemon answers at $dir/nothing.sock" "$dir/one.err" || fail "no daemon: $(cat "$dir/one.err")"
echo "bootstrap progress: all checks passed"

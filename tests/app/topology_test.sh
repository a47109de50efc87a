#!/usr/bin/env bash
# zmesh topology against real daemons: a bootstrap node, three relays (one an exit) and a
# client that fetched a file through its SOCKS port. The JSON lists every relay the client
# knows and the circuit's path as `zmesh circuits` has it; the DOT parses with Graphviz; the
# SVG (to a file, atomically, and to stdout) is well-formed XML naming every relay; nothing
# names the client's own addresses or the destination. Bad arguments, a missing daemon, a
# bad saved file and a missing Graphviz each get one line and a non-zero exit.
zmesh=$1
. "$(dirname "$0")/node_lib.sh" topology
command -v dot > /dev/null || fail "Graphviz's dot is missing (scripts/install-deps.sh installs graphviz)"

one_line_failure() {  # WHAT PATTERN COMMAND...: fails with one stderr line matching PATTERN
  local what=$1 pattern=$2 out
  shift 2
  if out=$("$@" 2>&1 > "$dir/stdout"); then fail "$what: exit 0"; fi
  [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || fail "$what: not one line: $out"
  echo "$out" | grep -Eq "$pattern" || fail "$what: $out"
  [ -s "$dir/stdout" ] && fail "$what: wrote to stdout"
  return 0
}

# --- without a network -------------------------------------------------------------------
one_line_failure "no daemon" '^zmesh: no zmesh daemon answers at ' \
  "$zmesh" topology --control "$dir/none.sock" --format json
if out=$("$zmesh" topology --format png --control "$dir/none.sock" 2>&1); then fail "png accepted"; fi
echo "$out" | grep -q -- '--format: png not in {dot,svg,json}' || fail "bad format: $out"
echo "garbage" > "$dir/garbage.json"
one_line_failure "bad saved file" "^zmesh: $dir/garbage.json: not JSON$" \
  "$zmesh" topology --from-json "$dir/garbage.json"
one_line_failure "missing saved file" "^zmesh: cannot read $dir/none.json$" \
  "$zmesh" topology --from-json "$dir/none.json"

# --- a network and a circuit ---------------------------------------------------------------
declare -A pid_of
start_network t udp 3
start_file_server blob 1500000
got=$(curl -sf --max-time 30 --socks5-hostname "$socks" "http://127.0.0.1:$port/blob" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "download through the client"
c=(--config "$dir/t-c.toml")

"$zmesh" topology "${c[@]}" --format json > "$dir/topo.json" || fail "topology json"
"$zmesh" circuits "${c[@]}" --format json > "$dir/circuits.json" || fail "circuits"
python3 - "$dir/topo.json" "$dir/circuits.json" "${!pid_of[@]}" <<'PY' || fail "topology JSON: $(cat "$dir/topo.json")"
import json, sys
topo = json.load(open(sys.argv[1]))
circuits = json.load(open(sys.argv[2]))["circuits"]
relays = {r["id"]: r for r in topo["relays"]}
want = set(sys.argv[3:])
assert set(relays) == want, f"relays {sorted(relays)} != {sorted(want)}"
assert sum(r["exit"] for r in relays.values()) == 1, "one exit"
for r in relays.values():
    assert r["subnet"] == "127.0.0.0/16", r
    assert r["addresses"] and r["addresses"][0].startswith("udp://127.0.0.1:"), r
assert [s["relays"] for s in topo["subnets"]] == [[r["id"] for r in topo["relays"]]]
built = [c for c in circuits if c["state"] == "built"]
assert built, "no built circuit"
drawn = {str(c["id"]): c for c in topo["circuits"]}
for c in built:
    d = drawn[str(c["id"])]
    assert d["state"] == "built" and d["path"] == c["path"], (d, c)
    assert len(d["path"]) == 3 and all(h in relays for h in d["path"]), d
    assert relays[d["path"][-1]]["exit"], "the path ends at the exit"
    assert relays[d["path"][0]]["guard"], "the path starts at a guard"
    # 1.5 MB through it: every hop has a measured bandwidth and a build latency.
    for h in d["path"]:
        assert relays[h]["latency_ms"] is not None, relays[h]
print(f"topology JSON: {len(relays)} relays, {len(built)} built circuit(s)")
PY

# `zmesh relays` lists the same relays, as a table and as JSON.
"$zmesh" relays "${c[@]}" --format json > "$dir/relays.json" || fail "relays json"
[ "$(json "$dir/relays.json" "sorted(r['id'] for r in d['relays'])")" = \
  "$(json "$dir/topo.json" "sorted(r['id'] for r in d['relays'])")" ] || fail "relays: $(cat "$dir/relays.json")"
"$zmesh" relays "${c[@]}" > "$dir/relays.txt" || fail "relays table"
head -1 "$dir/relays.txt" | grep -Eq '^ID +ADDRESS +MARKS +BANDWIDTH +LATENCY +RELIABILITY$' \
  || fail "relays table: $(cat "$dir/relays.txt")"
[ "$(grep -c 'exit' "$dir/relays.txt")" = 1 ] || fail "relays table marks: $(cat "$dir/relays.txt")"

"$zmesh" topology "${c[@]}" --format dot --out "$dir/topo.dot" || fail "topology dot"
[ "$(stat -c %a "$dir/topo.dot")" = 644 ] || fail "the DOT file is not 0644"
dot -Tsvg "$dir/topo.dot" > "$dir/from-dot.svg" 2> "$dir/dot.err" || fail "dot refuses the DOT: $(cat "$dir/dot.err")"
"$zmesh" topology "${c[@]}" --out "$dir/topo.svg" || fail "topology svg to a file"
"$zmesh" topology "${c[@]}" --format svg > "$dir/stdout.svg" || fail "topology svg to stdout"
ls -a "$dir" | grep -q '^\.topo' && fail "a temporary file was left behind"
for svg in topo.svg stdout.svg; do
  python3 - "$dir/$svg" "$dir/topo.json" <<'PY' || fail "$svg: $(head -c 400 "$dir/$svg")"
import json, sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
text = open(sys.argv[1]).read()
topo = json.load(open(sys.argv[2]))
for r in topo["relays"]:
    assert r["id"] in text, f"relay {r['id']} is not in the SVG"
for c in topo["circuits"]:
    assert f"circuit {c['id']}" in text, f"circuit {c['id']} is not drawn"
assert ">you<" in text
PY
done
# --out's extension picks the format when --format is not given.
"$zmesh" topology "${c[@]}" --out "$dir/named.json" || fail "topology --out named.json"
python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$dir/named.json" || fail "named.json is not JSON"

# Nothing names the client's own addresses (link, SOCKS, control) or the destination.
"$zmesh" status "${c[@]}" --format json > "$dir/c-status.json"
mapfile -t own < <(json "$dir/c-status.json" "'\n'.join(l['address'] for l in d['listeners'])")
[ "${#own[@]}" -ge 2 ] || fail "the client lists no listeners"
for f in topo.json topo.dot topo.svg stdout.svg; do
  for a in "${own[@]}" "127.0.0.1:$port"; do
    grep -qF -- "$a" "$dir/$f" && fail "$f names $a (the client's own address or the destination)"
  done
done

# A saved topology draws the same offline.
"$zmesh" topology --from-json "$dir/topo.json" --format json > "$dir/again.json" || fail "from-json"
cmp -s "$dir/topo.json" "$dir/again.json" || fail "--from-json changed the topology"
"$zmesh" topology --from-json "$dir/topo.json" --out "$dir/offline.svg" || fail "from-json svg"
python3 -c "import xml.etree.ElementTree as E,sys; E.parse(sys.argv[1])" "$dir/offline.svg" || fail "offline SVG"

# Without Graphviz: one line saying to install it, and no file.
one_line_failure "no graphviz" 'not installed \(apt-get install graphviz\)' \
  env PATH=/nonexistent "$zmesh" topology "${c[@]}" --out "$dir/nodot.svg"
[ -e "$dir/nodot.svg" ] && fail "a file was written without Graphviz"
# An unwritable destination: one line, no trace.
one_line_failure "bad --out" '^zmesh: cannot write in ' \
  "$zmesh" topology "${c[@]}" --format json --out "$dir/no/such/dir/t.json"

echo "PASS: topology of $(json "$dir/topo.json" "len(d['relays'])") relays and $(json "$dir/topo.json" "len(d['circuits'])") circuit(s) as JSON, DOT and SVG"

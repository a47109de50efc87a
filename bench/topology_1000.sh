#!/usr/bin/env bash
# How long `zmesh topology` takes to draw 1,000 known relays (issue 21: under 2 s). A
# synthetic topology in the JSON `zmesh topology --format json` writes: 1,000 relays over
# about 400 /16s (hosting providers crowd a few), 40 families of 2 to 6 relays, one in
# eight an exit, 3 guards, measured latency and bandwidth on most, and 8 circuits of 3
# hops; then `zmesh topology --from-json` renders it as DOT, JSON and SVG (Graphviz's dot),
# each RUNS times, written atomically to a file. Prints the median, minimum and maximum.
# Usage: bench/topology_1000.sh build/zmesh   (RELAYS=1000 RUNS=5)
set -euo pipefail
zmesh=$(realpath "$1")
relays=${RELAYS:-1000}
runs=${RUNS:-5}
command -v dot > /dev/null || { echo "Graphviz's dot is missing: apt-get install graphviz"; exit 1; }
dir=$(mktemp -d /tmp/zmesh-topology-bench.XXXXXX)
trap 'rm -rf "$dir"' EXIT

python3 - "$dir/topology.json" "$relays" <<'PY'
import json, random, sys
rng = random.Random(21)
n = int(sys.argv[2])
crowded = [(rng.randrange(1, 224), rng.randrange(256)) for _ in range(20)]
relays = []
for i in range(n):
    a, b = rng.choice(crowded) if rng.random() < 0.6 else (rng.randrange(1, 224), rng.randrange(256))
    ip = f"{a}.{b}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    relays.append({
        "id": "%064x" % rng.getrandbits(256),
        "addresses": [f"udp://{ip}:{rng.randrange(1024, 65535)}"],
        "family": [],
        "flags": ["relay"],
        "exit": rng.random() < 0.125,
        "guard": False,
        "advertised_bandwidth": rng.choice([0, rng.lognormvariate(15, 1.5)]),
        "measured_bandwidth": rng.lognormvariate(14, 1.5) if rng.random() < 0.7 else None,
        "latency_ms": rng.lognormvariate(4, 0.8) if rng.random() < 0.8 else None,
        "reliability": rng.random() if rng.random() < 0.8 else None,
    })
for r in relays:
    if r["exit"]:
        r["flags"].append("exit")
start = 0
for f in range(40):
    size = rng.randrange(2, 7)
    members = relays[start:start + size]
    start += size
    ids = sorted(m["id"] for m in members)
    for m in members:
        m["family"] = [x for x in ids if x != m["id"]]
for g in rng.sample(range(n), 3):
    relays[g]["guard"] = True
guards = [r["id"] for r in relays if r["guard"]]
exits = [r["id"] for r in relays if r["exit"]]
circuits = [{"id": i + 1, "state": "built" if i else "building",
             "path": [rng.choice(guards), rng.choice(relays)["id"], rng.choice(exits)]}
            for i in range(8)]
json.dump({"relays": relays, "circuits": circuits}, open(sys.argv[1], "w"))
PY

median() { sort -n | awk '{v[NR]=$1} END {printf "median %.3f s (min %.3f, max %.3f)", v[int((NR+1)/2)], v[1], v[NR]}'; }
for format in dot json svg; do
  for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    "$zmesh" topology --from-json "$dir/topology.json" --format "$format" --out "$dir/out.$format"
    end=$(date +%s%N)
    awk -v ns=$((end - start)) 'BEGIN { printf "%.3f\n", ns / 1e9 }'
  done > "$dir/times.$format"
  printf '%s relays, %-4s %s, %s bytes\n' "$relays" "$format:" "$(median < "$dir/times.$format")" \
    "$(stat -c %s "$dir/out.$format")"
done
python3 -c "import xml.etree.ElementTree as E,sys; E.parse(sys.argv[1])" "$dir/out.svg"

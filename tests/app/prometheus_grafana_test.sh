#!/usr/bin/env bash
# contrib/prometheus and contrib/grafana against the real tools and a real testnet:
# promtool accepts the scrape configuration and the rules and passes the rules' unit
# tests; every metric the rules and the dashboard query is one the testnet exports
# (promql_check.py names); a real Prometheus scraping the testnet with these rules
# evaluates every rule and every dashboard query without error, fires nothing on the
# healthy network, and raises ZmeshNodeDown once the network is gone.
# Usage: prometheus_grafana_test.sh ZMESH [SOURCE_DIR]
set -uo pipefail
zmesh=$1
src=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
prom_dir=$src/contrib/prometheus
rules=$prom_dir/zmesh-rules.yml
dashboard=$src/contrib/grafana/zmesh-dashboard.json
check="python3 $src/tests/app/promql_check.py"
dir=$(mktemp -d)
pid=
prom=
cleanup() {
  [ -n "$pid" ] && kill $pid 2>/dev/null
  [ -n "$prom" ] && kill $prom 2>/dev/null
  wait 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  tail -20 "$dir/tn.log" 2>/dev/null
  tail -20 "$dir/prometheus.log" 2>/dev/null
  exit 1
}
command -v promtool >/dev/null || fail "promtool missing (Debian package prometheus; make deps)"
command -v prometheus >/dev/null || fail "prometheus missing (Debian package prometheus; make deps)"
python3 -c 'import yaml' || fail "PyYAML missing (Debian package python3-yaml; make deps)"

promtool check config "$prom_dir/prometheus.yml" || fail "promtool check config"
promtool check rules "$rules" || fail "promtool check rules"
promtool test rules "$prom_dir/zmesh-rules.test.yml" || fail "promtool test rules"
python3 - "$src/contrib/grafana/provisioning" <<'EOF' || fail "Grafana provisioning files"
import sys, yaml, pathlib
root = pathlib.Path(sys.argv[1])
ds = yaml.safe_load((root / "datasources/zmesh-prometheus.yml").read_text())
assert ds["apiVersion"] == 1 and ds["datasources"][0]["type"] == "prometheus", ds
dash = yaml.safe_load((root / "dashboards/zmesh.yml").read_text())
p = dash["providers"][0]
assert dash["apiVersion"] == 1 and p["type"] == "file" and p["options"]["path"], dash
EOF

"$zmesh" testnet --socks 127.0.0.1:0 --http "" --metrics 127.0.0.1:0 --demo-http 127.0.0.1:0 \
  > "$dir/tn.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do grep -q '^metrics:' "$dir/tn.log" && break; sleep 0.1; done
url=$(sed -n 's/^metrics: \(.*\)/\1/p' "$dir/tn.log")
socks=$(sed -n 's/^ready: SOCKS5 127.0.0.1:\([0-9]*\).*/\1/p' "$dir/tn.log")
page=$(sed -n 's|^try: .* \(http://[^ ]*\)|\1|p' "$dir/tn.log")
[ -n "$url" ] && [ -n "$socks" ] && [ -n "$page" ] || fail "testnet did not report its addresses"
# Traffic, so that series which appear only once counted (builds by hop count) exist.
curl -sS -m 10 --socks5-hostname "127.0.0.1:$socks" "$page" >/dev/null || fail "fetch through the testnet"
curl -sS -m 10 "$url" > "$dir/metrics.txt" || fail "GET /metrics"
$check names "$dir/metrics.txt" "$rules" "$dashboard" || fail "metric names"

# A real Prometheus: scrape every second, evaluate the rules every second.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
target=${url#http://}
target=${target%/metrics}
cat > "$dir/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $rules
scrape_configs:
  - job_name: zmesh-testnet
    static_configs:
      - targets: ["$target"]
EOF
promtool check config "$dir/prometheus.yml" >/dev/null || fail "test Prometheus configuration"
prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
  --web.listen-address="127.0.0.1:$port" > "$dir/prometheus.log" 2>&1 &
prom=$!
base=http://127.0.0.1:$port
# Ready, and at least 5 scrapes of the testnet stored (rates need two).
scraped=
for _ in $(seq 1 300); do
  n=$(curl -s -m 2 "$base/api/v1/query" --data-urlencode 'query=count_over_time(up[1m])' |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)' 2>/dev/null)
  [ "${n:-0}" -ge 5 ] 2>/dev/null && { scraped=1; break; }
  sleep 0.1
done
[ -n "$scraped" ] || fail "Prometheus did not scrape the testnet"
$check live "$base" "$rules" "$dashboard" || fail "rules and dashboard on a real Prometheus"

# The network gone: `up` drops to 0 and ZmeshNodeDown goes pending (firing needs 2 min).
kill -INT $pid; wait $pid; pid=
pending=
for _ in $(seq 1 150); do
  curl -s -m 2 "$base/api/v1/alerts" > "$dir/alerts.json"
  python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))["data"]["alerts"]
sys.exit(0 if any(x["labels"]["alertname"] == "ZmeshNodeDown" and x["labels"]["job"] == "zmesh-testnet" for x in a) else 1)' \
    "$dir/alerts.json" 2>/dev/null && { pending=1; break; }
  sleep 0.1
done
[ -n "$pending" ] || fail "ZmeshNodeDown not raised for the stopped testnet: $(cat "$dir/alerts.json")"
echo "prometheus/grafana: promtool checks and rule tests pass; rules and dashboard query only exported metrics and work on a real Prometheus"

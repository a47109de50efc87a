#!/usr/bin/env python3
"""Checks the PromQL in contrib/prometheus and contrib/grafana against a real exposition.

  promql_check.py names METRICS_TXT RULES_YML DASHBOARD_JSON
      Every metric name an alert rule, a recording rule, a dashboard panel or a dashboard
      variable queries must be a sample the daemon exported (METRICS_TXT, from a running
      testnet's /metrics), a recording rule of RULES_YML, or a series Prometheus adds to
      every target (up, scrape_*). rate()/increase() only over counters and histogram
      series, `_bucket` only of histograms, and every label named in a matcher or a
      grouping exists.
  promql_check.py live PROMETHEUS_URL RULES_YML DASHBOARD_JSON
      Against a Prometheus scraping a testnet and loaded with RULES_YML: every rule
      evaluates without error, nothing fires on a healthy network, and every dashboard
      query (variables filled in) is accepted and returns series.
"""
import json
import re
import sys
import time
import urllib.parse
import urllib.request

import yaml

# Series Prometheus itself adds to every scraped target.
PROMETHEUS_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped",
                     "scrape_samples_post_metric_relabeling", "scrape_series_added"}
TARGET_LABELS = {"job", "instance"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
            "or", "unless", "offset", "inf", "nan", "start", "end",
            # aggregation operators, which may come before `by (...)` instead of `(`
            "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
            "bottomk", "topk", "quantile"}
STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
MATCHERS = re.compile(r"\{([^}]*)\}")
MATCHER_LABEL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)")
IDENT = re.compile(r"(?<![\w.:$])[A-Za-z_:][A-Za-z0-9_:]*")
RATE_ARG = re.compile(r"\b(?:rate|irate|increase)\s*\(\s*([A-Za-z_:][A-Za-z0-9_:]*)")
GRAFANA_VAR = re.compile(r"\$(?:\{[A-Za-z0-9_:]+\}|[A-Za-z0-9_]+)")


class Exposition:
    def __init__(self, text):
        self.types = {}     # family -> type, from # TYPE
        self.samples = set()
        self.labels = set()
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split(None, 3)
                self.types[name] = kind.strip()
            elif line and not line.startswith("#"):
                m = re.match(r"([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s", line)
                if not m:
                    raise SystemExit(f"unparsable exposition line: {line}")
                self.samples.add(m.group(1))
                if m.group(2):
                    self.labels.update(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", m.group(2)))
        if not self.samples:
            raise SystemExit("the exposition has no samples")

    def family(self, name):
        """(family, type) of a sample name; histogram series map to their family."""
        for suffix in ("_bucket", "_sum", "_count"):
            base = name[: -len(suffix)]
            if name.endswith(suffix) and self.types.get(base) == "histogram":
                return base, "histogram"
        return name, self.types.get(name)


def parse(expr):
    """(metric names, label names) that a PromQL expression refers to."""
    text = GRAFANA_VAR.sub("x", expr)
    if "__name__" in text:
        raise ValueError("selects by __name__: name the metrics instead, so they can be checked")
    text = STRING.sub('""', text)
    labels = set()
    for m in GROUPING.finditer(text):
        labels.update(l.strip() for l in m.group(2).split(",") if l.strip())
    text = GROUPING.sub(" ", text)
    for m in MATCHERS.finditer(text):
        labels.update(MATCHER_LABEL.findall(m.group(1)))
    text = MATCHERS.sub(" ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    names = set()
    for m in IDENT.finditer(text):
        rest = text[m.end():].lstrip()
        if rest.startswith("(") or m.group(0) in KEYWORDS:
            continue
        names.add(m.group(0))
    rated = set(RATE_ARG.findall(STRING.sub('""', GRAFANA_VAR.sub("x", expr))))
    return names, labels, rated


def load_rules(path):
    with open(path) as f:
        doc = yaml.safe_load(f)
    rules = [r for g in doc["groups"] for r in g["rules"]]
    recorded = {r["record"]: r["expr"] for r in rules if "record" in r}
    return rules, recorded


def dashboard_queries(path):
    """(where, PromQL) of every panel target and every query variable."""
    with open(path) as f:
        dash = json.load(f)
    out = []
    problems = []
    if dash.get("schemaVersion", 0) < 36:
        problems.append(f"schemaVersion {dash.get('schemaVersion')}: Grafana 9/10 write 36 and up")
    variables = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
    if variables.get("datasource", {}).get("type") != "datasource":
        problems.append("no Prometheus data source variable `datasource`")
    for v in variables.values():
        if v["type"] != "query":
            continue
        q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
        m = re.fullmatch(r"\s*label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*", q)
        if not m:
            problems.append(f"variable {v['name']}: unsupported query {q!r}")
            continue
        out.append((f"variable {v['name']}", m.group(1), m.group(2)))
    panels = []
    for p in dash["panels"]:
        panels.append(p)
        panels.extend(p.get("panels", []))  # collapsed rows
    ids = [p["id"] for p in panels]
    if len(ids) != len(set(ids)):
        problems.append("panel ids are not unique")
    for p in panels:
        for t in p.get("targets", []):
            if t.get("datasource", p.get("datasource", {})).get("uid") != "${datasource}":
                problems.append(f"panel {p['title']!r}: not on the $datasource variable")
            out.append((f"panel {p['title']!r} {t['refId']}", t["expr"], None))
        if p["type"] != "row" and not p.get("targets"):
            problems.append(f"panel {p['title']!r} has no query")
    return out, problems


def cmd_names(metrics_path, rules_path, dashboard_path):
    with open(metrics_path) as f:
        expo = Exposition(f.read())
    rules, recorded = load_rules(rules_path)
    queries, problems = dashboard_queries(dashboard_path)
    for r in rules:
        queries.append((f"rule {r.get('alert') or r.get('record')}", r["expr"], None))

    def check(where, expr, seen=()):
        try:
            names, labels, rated = parse(expr)
        except ValueError as e:
            problems.append(f"{where}: {e}")
            return set()
        if not names:
            problems.append(f"{where}: no metric found in {expr!r}")
        for label in labels - expo.labels - TARGET_LABELS:
            problems.append(f"{where}: label {label!r} is on no exported series")
        used = set()
        for name in names:
            if name in recorded:
                if name in seen:
                    problems.append(f"{where}: recording rule {name} refers to itself")
                    continue
                used |= check(f"{where} -> {name}", recorded[name], seen + (name,))
            elif name in expo.samples or name in PROMETHEUS_SERIES:
                used.add(name)
            elif ":" in name:
                problems.append(f"{where}: {name} is no recording rule of {rules_path}")
            else:
                problems.append(f"{where}: {name} is not exported by the daemon")
        for name in rated & expo.samples:
            family, kind = expo.family(name)
            if kind == "gauge":
                problems.append(f"{where}: rate/increase over gauge {name}")
            if kind == "histogram" and name == family:
                problems.append(f"{where}: {name} is a histogram; name its _bucket/_sum/_count")
        for name in names & expo.samples:
            family, kind = expo.family(name)
            if name.endswith("_bucket") and kind != "histogram":
                problems.append(f"{where}: {name} is no histogram's buckets")
        return used

    used = set()
    for where, expr, label in queries:
        used |= check(where, expr)
        if label and label not in expo.labels | TARGET_LABELS:
            problems.append(f"{where}: label {label!r} is on no exported series")
    for p in problems:
        print(f"FAIL: {p}")
    if problems:
        return 1
    print(f"promql: {len(queries)} queries use {len(used)} metrics, all exported "
          f"({len(recorded)} recording rules resolved)")
    return 0


def api(base, path, **params):
    url = f"{base}{path}?{urllib.parse.urlencode(params)}" if params else f"{base}{path}"
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.load(r)
    except urllib.error.HTTPError as e:
        body = json.load(e)
    if body.get("status") != "success":
        raise ValueError(f"{body.get('errorType')}: {body.get('error')}")
    return body["data"]


def cmd_live(base, rules_path, dashboard_path):
    _, recorded = load_rules(rules_path)
    queries, problems = dashboard_queries(dashboard_path)
    # Every rule group must have run twice, so rates over the first scrapes exist.
    deadline = time.monotonic() + 30
    while True:
        groups = api(base, "/api/v1/rules")["groups"]
        rules = [r for g in groups for r in g["rules"]]
        evaluated = all(r.get("lastEvaluation", "").startswith("20") for r in rules) and rules
        if evaluated or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if not rules:
        problems.append("Prometheus loaded no rules")
    for r in rules:
        if r.get("health") != "ok":
            problems.append(f"rule {r['name']}: health {r.get('health')}: {r.get('lastError')}")
    for a in api(base, "/api/v1/alerts")["alerts"]:
        # A testnet relay that no circuit has crossed yet has no link session (it publishes
        # its descriptor over HTTP): that alert may be pending, never firing, here.
        if a["state"] == "pending" and a["labels"]["alertname"] == "ZmeshNoLinkSessions":
            continue
        problems.append(f"alert {a['labels']['alertname']} {a['state']} on a healthy network: "
                        f"{a['labels']}")

    def fill(expr):
        expr = expr.replace("$__rate_interval", "30s").replace("$__interval", "5s")
        return GRAFANA_VAR.sub(".*", expr)

    for where, expr, label in queries:
        try:
            result = api(base, "/api/v1/query", query=fill(expr))["result"]
        except ValueError as e:
            problems.append(f"{where}: Prometheus refuses {fill(expr)!r}: {e}")
            continue
        if not result:
            problems.append(f"{where}: no series for {fill(expr)!r}")
        elif label and not any(label in s["metric"] for s in result):
            problems.append(f"{where}: no series of {fill(expr)!r} has label {label!r}")
    for p in problems:
        print(f"FAIL: {p}")
    if problems:
        return 1
    print(f"prometheus: {len(rules)} rules evaluate cleanly, nothing fires; "
          f"{len(queries)} dashboard queries return series")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "names":
        sys.exit(cmd_names(*sys.argv[2:]))
    if len(sys.argv) == 5 and sys.argv[1] == "live":
        sys.exit(cmd_live(*sys.argv[2:]))
    sys.exit(__doc__)

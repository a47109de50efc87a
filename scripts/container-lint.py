#!/usr/bin/env python3
"""make container-lint: the checks of the container files that need no container.

- yamllint on the compose files, Prometheus file and the chart's non-template YAML.
- The compose network: every service names an image and declared networks and volumes,
  depends only on services that exist; every zmesh node runs read-only, without
  capabilities, with the health check and its own volume at /var/lib/zmesh; every
  ZMESH_* variable is an option of `zmesh config init` (given the binary) or one the
  image's entry point reads.
- The Helm chart: Chart.yaml's fields; values.yaml against values.schema.json; every
  .Values path a template uses exists in values.yaml; every template it includes is
  defined; if/range/with/define blocks close in each file.
- The image's configuration and the compose Prometheus file (promtool), when the tools
  are there.

Not checked here (no helm, no Kubernetes schemas offline): the rendered manifests.
"""
import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "contrib" / "compose"
CHART = ROOT / "contrib" / "helm" / "zmesh"
ENTRYPOINT = ROOT / "contrib" / "container" / "zmesh-entrypoint.sh"
errors = []


def error(where, what):
    errors.append(f"{where}: {what}")


def config_options(zmesh):
    """ZMESH_SECTION_KEY names of every option `zmesh config init` writes."""
    out = subprocess.run([zmesh, "config", "init"], check=True, capture_output=True, text=True)
    names, section = set(), None
    for line in out.stdout.splitlines():
        if m := re.match(r"^\[(\w+)\]$", line):
            section = m.group(1)
        elif (m := re.match(r"^(\w+) = ", line)) and section:
            names.add(f"ZMESH_{section}_{m.group(1)}".upper())
    return names


def check_compose(zmesh):
    files = [COMPOSE / "compose.yaml", COMPOSE / "compose.test.yaml"]
    doc = yaml.safe_load(files[0].read_text())
    test = yaml.safe_load(files[1].read_text())
    entry_vars = set(re.findall(r"ZMESH_[A-Z_]+", ENTRYPOINT.read_text()))
    options = config_options(zmesh) if zmesh else None
    services = doc.get("services", {})
    networks = set(doc.get("networks", {}))
    volumes = set(doc.get("volumes", {}))
    for name, s in {**services, **test.get("services", {})}.items():
        where = f"compose service {name}"
        full = {**services.get(name, {}), **s} if name in services else s
        if "image" not in full:
            error(where, "no image")
        for n in full.get("networks", []):
            if n not in networks:
                error(where, f"network {n} is not declared")
        for d in full.get("depends_on", []):
            if d not in services:
                error(where, f"depends on {d}, no such service")
        for v in full.get("volumes", []):
            src = v.split(":")[0]
            if not src.startswith((".", "/", "$")) and src not in volumes:
                error(where, f"volume {src} is not declared")
        env = dict(services.get(name, {}).get("environment", {}))
        env.update(s.get("environment", {}))
        for var in env:
            if not var.startswith("ZMESH_"):
                continue
            if var in entry_vars:
                continue
            if options is not None and var not in options:
                error(where, f"{var} is no zmesh option (zmesh config init) nor entry point variable")
        if "ZMESH_IMAGE" not in str(full.get("image", "")) or name not in services:
            continue
        if full.get("read_only") is not True:
            error(where, "the root file system is not read_only")
        if full.get("cap_drop") != ["ALL"]:
            error(where, "cap_drop is not [ALL]")
        if "zmesh" not in full.get("healthcheck", {}).get("test", []):
            error(where, "no zmesh status health check")
        if not any(str(v).endswith(":/var/lib/zmesh") for v in full.get("volumes", [])):
            error(where, "no volume at /var/lib/zmesh for its keys")
        if "ZMESH_CORE_ROLES" not in env:
            error(where, "no ZMESH_CORE_ROLES")


def values_paths(node, prefix=""):
    """Every dotted path of values.yaml; maps stand for any key below them too."""
    paths = {prefix} if prefix else set()
    if isinstance(node, dict):
        for k, v in node.items():
            paths |= values_paths(v, f"{prefix}.{k}" if prefix else k)
    return paths


def check_chart():
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    for key in ("apiVersion", "name", "version", "appVersion"):
        if key not in chart:
            error("Chart.yaml", f"no {key}")
    if chart.get("apiVersion") != "v2":
        error("Chart.yaml", "apiVersion must be v2")
    if not re.fullmatch(r"\d+\.\d+\.\d+", str(chart.get("version", ""))):
        error("Chart.yaml", "version is not SemVer")
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    try:
        import jsonschema
        schema = json.loads((CHART / "values.schema.json").read_text())
        for e in jsonschema.Draft7Validator(schema).iter_errors(values):
            error("values.yaml", f"{'.'.join(map(str, e.path))}: {e.message}")
    except ImportError:
        error("values.schema.json", "cannot check: python3-jsonschema is missing")
    paths = values_paths(values)
    templates = sorted((CHART / "templates").glob("*"))
    defined = set()
    for t in templates:
        defined |= set(re.findall(r'{{-?\s*define\s+"([^"]+)"', t.read_text()))
    opening = re.compile(r"{{-?\s*(if|range|with|define)\b")
    closing = re.compile(r"{{-?\s*end\s*-?}}")
    for t in templates:
        text = t.read_text()
        where = f"templates/{t.name}"
        used = re.findall(r"\.Values\.([A-Za-z0-9_.]+)", text)
        for alias in re.findall(r"\$(\w+)\s*:=\s*[\w$.]*\.Values\s*-?}}", text):  # $v := .Values
            used += re.findall(rf"\${alias}\.([A-Za-z0-9_.]+)", text)
        for p in used:
            if p.rstrip(".") not in paths:
                error(where, f".Values.{p} is not in values.yaml")
        for name in re.findall(r'(?:include|template)\s+"([^"]+)"', text):
            if name not in defined:
                error(where, f'template "{name}" is not defined')
        if len(opening.findall(text)) != len(closing.findall(text)):
            error(where, "if/range/with/define and end do not pair up")


def run(cmd, where):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        error(where, (r.stdout + r.stderr).strip())


def main():
    zmesh = sys.argv[1] if len(sys.argv) > 1 and pathlib.Path(sys.argv[1]).exists() else None
    if shutil.which("yamllint"):
        run(["yamllint", "--strict", "-c", str(ROOT / "contrib" / "yamllint.yaml"),
             str(COMPOSE), str(CHART / "Chart.yaml"), str(CHART / "values.yaml")], "yamllint")
    else:
        error("yamllint", "not installed (scripts/install-deps.sh installs it)")
    check_compose(zmesh)
    check_chart()
    if zmesh:
        run([zmesh, "config", "validate", str(ROOT / "contrib" / "container" / "zmesh.toml")],
            "contrib/container/zmesh.toml")
    if shutil.which("promtool"):
        with tempfile.TemporaryDirectory() as d:
            shutil.copy(COMPOSE / "prometheus.yml", d)
            shutil.copy(ROOT / "contrib" / "prometheus" / "zmesh-rules.yml", d)
            run(["promtool", "check", "config", f"{d}/prometheus.yml"], "compose prometheus.yml")
    for e in errors:
        print(f"container-lint: {e}", file=sys.stderr)
    checked = "compose, chart" + (", image config" if zmesh else "")
    print(f"container-lint: {'FAILED' if errors else 'ok'} ({checked})")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

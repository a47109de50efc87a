#!/usr/bin/env bash
# zmesh config init / validate / show as an operator uses them.
set -uo pipefail
zmesh=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$zmesh" config init --out "$dir/zmesh.toml" >/dev/null || fail "config init"
"$zmesh" config init --out "$dir/zmesh.toml" 2>/dev/null && fail "init overwrote without --force"
out=$("$zmesh" config validate "$dir/zmesh.toml") || fail "the default file does not validate: $out"

printf '[circuit]\nhops = 12\n[nonsense]\nkey = 1\n' > "$dir/bad.toml"
if err=$("$zmesh" config validate "$dir/bad.toml" 2>&1); then fail "bad file accepted"; fi
echo "$err" | grep -q "bad.toml:2: circuit.hops: must be an integer from 2 to 8" || fail "hops error: $err"
echo "$err" | grep -q "bad.toml:4: nonsense.key: unknown option" || fail "unknown key error: $err"

shown=$(ZMESH_CIRCUIT_HOPS=5 "$zmesh" config show "$dir/zmesh.toml" --set crypto.handshake=classical) \
  || fail "config show"
echo "$shown" | grep -q '^hops = 5$' || fail "environment override not shown: $shown"
echo "$shown" | grep -Eq "^handshake = [\"']classical[\"']\$" || fail "--set override not shown"
if ZMESH_CIRCUIT_HOPS=lots "$zmesh" config show >/dev/null 2>&1; then fail "bad environment value accepted"; fi
echo "config CLI: all checks passed"

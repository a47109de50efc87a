#!/usr/bin/env bash
# The layer check must actually fail on a violation and pass on a clean tree.
set -uo pipefail
checker=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/src/zmesh/crypto" "$dir/src/zmesh/link"
echo '#include "zmesh/crypto/aead.hpp"' > "$dir/src/zmesh/link/ok.cpp"
python3 "$checker" "$dir" >/dev/null || { echo "FAIL: clean tree rejected"; exit 1; }
echo '#include "zmesh/link/endpoint.hpp"' > "$dir/src/zmesh/crypto/bad.cpp"
if out=$(python3 "$checker" "$dir"); then echo "FAIL: violation not caught"; exit 1; fi
echo "$out" | grep -q "layer 'crypto' includes higher layer 'link'" || { echo "FAIL: $out"; exit 1; }
echo "layering self-test passed"

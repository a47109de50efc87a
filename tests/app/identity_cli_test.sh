#!/usr/bin/env bash
# zmesh keygen / zmesh id as a user runs them: modes, refusals and clear errors.
set -uo pipefail
zmesh=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$zmesh" keygen --out "$dir/a.key" >/dev/null || fail "keygen failed"
[ "$(stat -c %a "$dir/a.key")" = 600 ] || fail "key file mode is not 0600"
out=$("$zmesh" id "$dir/a.key") || fail "id failed"
echo "$out" | grep -Eq '^node-id +[a-z2-7]{52}$' || fail "no node id in: $out"
echo "$out" | grep -Eq '^x25519-public +[0-9a-f]{64}$' || fail "no x25519 key in: $out"
echo "$out" | grep -Eq '^ed25519-public +[0-9a-f]{64}$' || fail "no ed25519 key in: $out"

before=$(sha256sum "$dir/a.key")
if err=$("$zmesh" keygen --out "$dir/a.key" 2>&1); then fail "keygen overwrote without --force"; fi
echo "$err" | grep -q -- "--force" || fail "overwrite refusal does not mention --force: $err"
[ "$(sha256sum "$dir/a.key")" = "$before" ] || fail "refused keygen still changed the file"
"$zmesh" keygen --out "$dir/a.key" --force >/dev/null || fail "keygen --force failed"

expect_error() {  # file, pattern
  local err
  if err=$("$zmesh" id "$1" 2>&1); then fail "id accepted $1"; fi
  echo "$err" | grep -q "$2" || fail "error for $1 lacks '$2': $err"
}
cp -p "$dir/a.key" "$dir/open.key"; chmod 644 "$dir/open.key"
expect_error "$dir/open.key" "readable by other users"
head -c 120 "$dir/a.key" > "$dir/short.key"; chmod 600 "$dir/short.key"
expect_error "$dir/short.key" "truncated"
# Change the seed's first hex digit to a different one.
awk '/^ed25519-seed / { d = substr($2, 1, 1); $2 = (d == "0" ? "1" : "0") substr($2, 2) } { print }' \
  "$dir/a.key" > "$dir/bad.key"
cmp -s "$dir/a.key" "$dir/bad.key" && fail "test did not alter the key"
chmod 600 "$dir/bad.key"
expect_error "$dir/bad.key" "corrupt"
expect_error "$dir/missing.key" "cannot read"
echo "hello" > "$dir/junk.key"; chmod 600 "$dir/junk.key"
expect_error "$dir/junk.key" "not a zmesh identity"
echo "identity CLI: all checks passed"

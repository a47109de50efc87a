#!/usr/bin/env bash
# `make install` into a scratch prefix: binary, docs, the control API's .proto, a default
# configuration that validates, and a systemd unit naming the installed paths that
# systemd-analyze accepts. A second install keeps an edited configuration.
set -uo pipefail
build=$1
prefix=$(mktemp -d /tmp/zmesh-install.XXXXXX)
trap 'rm -rf "$prefix"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cmake --install "$build" --prefix "$prefix" >/dev/null || fail "cmake --install"
"$prefix/bin/zmesh" --version | grep -q "zmesh 0.1.0" || fail "installed binary"
[ -f "$prefix/share/doc/zmesh/daemon.md" ] || fail "docs not installed"
[ -f "$prefix/share/zmesh/proto/zmesh/control/v1/control.proto" ] || fail "proto not installed"
conf="$prefix/etc/zmesh/zmesh.toml"
"$prefix/bin/zmesh" config validate "$conf" >/dev/null 2>&1 || fail "installed config invalid"
unit="$prefix/lib/systemd/system/zmesh.service"
grep -qx "ExecStart=$prefix/bin/zmesh node --config $conf" "$unit" || fail "ExecStart: $(grep ExecStart "$unit")"
for hardening in NoNewPrivileges=yes ProtectSystem=strict DynamicUser=yes CapabilityBoundingSet= \
                 "SystemCallFilter=@system-service" MemoryDenyWriteExecute=yes PrivateDevices=yes; do
  grep -qx "$hardening" "$unit" || fail "unit lacks $hardening"
done
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify "$unit" || fail "systemd-analyze rejects the unit"
fi
echo "# edited" >> "$conf"
cmake --install "$build" --prefix "$prefix" >/dev/null || fail "second install"
grep -q "^# edited" "$conf" || fail "a re-install replaced the operator's configuration"
echo "install: all checks passed"

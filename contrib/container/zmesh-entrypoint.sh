#!/bin/sh
# Entry point of the zmesh container image: fills in what a container only knows when it
# starts, as ZMESH_* variables for `zmesh node`, then runs the command (by default
# `zmesh node --config /etc/zmesh/zmesh.toml`). Writes nothing outside the data directory
# and the optional key file, so the root file system may be read-only.
#
#   ZMESH_ADVERTISE_PORT=7000      advertise this container's first IP address with this
#                                  port (transport.advertise), unless ZMESH_TRANSPORT_ADVERTISE
#                                  is set: relays listening on 0.0.0.0 must name an address
#                                  others reach them at.
#   ZMESH_PUBLISH_KEY=FILE         (bootstrap) make the identity key if there is none yet and
#                                  write its public key (hex) to FILE, for the others.
#   ZMESH_BOOTSTRAP_ADDR=HOST:PORT (relays, clients) the bootstrap node's directory; HOST may
#                                  be a name (resolved here: the configuration takes IPs)
#   ZMESH_BOOTSTRAP_KEY=HEX or ZMESH_BOOTSTRAP_KEY_FILE=FILE
#                                  its public key; the file is waited for (60 s).
# Together they set core.bootstrap, unless ZMESH_CORE_BOOTSTRAP is set.
set -eu

data_dir=${ZMESH_CORE_DATA_DIR:-/var/lib/zmesh}
say() { echo "zmesh-entrypoint: $*" >&2; }

# First IPv4 (else IPv6) address a name resolves to.
resolve() {
  getent ahostsv4 "$1" 2>/dev/null | awk 'NR == 1 { print $1 }' | grep . ||
    getent ahosts "$1" 2>/dev/null | awk 'NR == 1 { print "[" $1 "]" }'
}

if [ -n "${ZMESH_ADVERTISE_PORT:-}" ] && [ -z "${ZMESH_TRANSPORT_ADVERTISE:-}" ]; then
  ip=$(resolve "$(hostname)") || { say "cannot find this container's address"; exit 1; }
  export ZMESH_TRANSPORT_ADVERTISE="$ip:$ZMESH_ADVERTISE_PORT"
fi

if [ -n "${ZMESH_PUBLISH_KEY:-}" ]; then
  umask 077
  [ -f "$data_dir/identity.key" ] || zmesh keygen --out "$data_dir/identity.key" >/dev/null
  key=$(zmesh id "$data_dir/identity.key" | awk '$1 == "ed25519-public" { print $2 }')
  umask 022
  printf '%s\n' "$key" > "$ZMESH_PUBLISH_KEY.tmp"
  mv "$ZMESH_PUBLISH_KEY.tmp" "$ZMESH_PUBLISH_KEY"
fi

if [ -n "${ZMESH_BOOTSTRAP_ADDR:-}" ] && [ -z "${ZMESH_CORE_BOOTSTRAP:-}" ]; then
  key=${ZMESH_BOOTSTRAP_KEY:-}
  if [ -z "$key" ] && [ -n "${ZMESH_BOOTSTRAP_KEY_FILE:-}" ]; then
    i=0
    while [ ! -s "$ZMESH_BOOTSTRAP_KEY_FILE" ]; do
      i=$((i + 1))
      [ "$i" -le 60 ] || { say "no key in $ZMESH_BOOTSTRAP_KEY_FILE after 60 s"; exit 1; }
      sleep 1
    done
    key=$(head -n 1 "$ZMESH_BOOTSTRAP_KEY_FILE")
  fi
  [ -n "$key" ] || { say "ZMESH_BOOTSTRAP_ADDR needs ZMESH_BOOTSTRAP_KEY or _KEY_FILE"; exit 1; }
  host=${ZMESH_BOOTSTRAP_ADDR%:*}
  port=${ZMESH_BOOTSTRAP_ADDR##*:}
  i=0
  until ip=$(resolve "$host"); do  # the bootstrap's container may not be up yet
    i=$((i + 1))
    [ "$i" -le 60 ] || { say "cannot resolve $host after 60 s"; exit 1; }
    sleep 1
  done
  export ZMESH_CORE_BOOTSTRAP="$ip:$port $key"
fi

exec "$@"

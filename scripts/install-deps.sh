#!/usr/bin/env bash
# Installs the Debian packages zmesh needs to build, test and benchmark.
# Idempotent: when everything is present it installs nothing and says so.
set -euo pipefail

# What building the zmesh binary needs (GTest too: CMake configures the tests).
build_packages=(
  build-essential cmake ninja-build pkg-config git
  libsodium-dev libssl-dev libboost1.81-dev
  libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libtomlplusplus-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc libseccomp-dev
  libopendht2 libgnutls28-dev nettle-dev libasio-dev libargon2-dev libjsoncpp-dev
  libhttp-parser-dev librestinio-dev libisal-dev libnice-dev libusrsctp-dev
)
packages=(
  "${build_packages[@]}"
  clang clang-format libclang-rt-14-dev libbenchmark-dev
  python3 python3-yaml python3-jsonschema python3-cryptography valgrind curl prometheus
  chromium graphviz yamllint
  tor i2pd microsocks tinyproxy  # real upstream proxies of the exit tests (docs/exits.md)
)
# --build-only: just the build (the container image's build stage, Dockerfile).
if [ "${1:-}" = "--build-only" ]; then
  packages=("${build_packages[@]}" ccache)
fi
# --containers: what make container-image and container-test need (docs/containers.md).
if [ "${1:-}" = "--containers" ]; then
  packages=(podman podman-compose mmdebstrap runc curl python3)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
else
  echo "install-deps: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # The tests start tor, i2pd and tinyproxy themselves, on ports of their own. Debian
  # starts their system services on install; a system tor on 127.0.0.1:9050 would take
  # the SOCKS port of `make demo`. Services this script installed are stopped and
  # disabled (ones that were there before are left alone).
  if command -v systemctl > /dev/null && [ -d /run/systemd/system ]; then
    for p in "${missing[@]}"; do
      case $p in
        tor | i2pd | tinyproxy)
          "${sudo_cmd[@]}" systemctl disable --now "$p" > /dev/null 2>&1 &&
            echo "install-deps: disabled the $p system service the package started (the tests run their own)"
          ;;
      esac
    done
  fi
fi

# OpenDHT's headers. Debian 12's libopendht-dev depends (through libmsgpack-cxx-dev) on
# libboost-dev 1.74, which cannot be installed next to the libboost1.81-dev zmesh builds
# with. Only headers are missing: the library itself is libopendht2, installed above, and
# msgpack-cxx works without Boost (MSGPACK_NO_BOOST). So the two header packages are
# unpacked into .deps/ of this checkout, at the version of the installed library.
root=$(cd "$(dirname "$0")/.." && pwd)
deps="$root/.deps/opendht"
if [ ! -f "$deps/usr/include/opendht/dhtrunner.h" ] || [ ! -f "$deps/usr/include/msgpack.hpp" ]; then
  version=$(dpkg-query -W -f='${Version}' libopendht2)
  tmp=$(mktemp -d)
  chmod a+rwx "$tmp"  # apt downloads as its own user
  if ! (cd "$tmp" && apt-get download -qq "libopendht-dev=$version" libmsgpack-cxx-dev); then
    "${sudo_cmd[@]}" apt-get update -qq
    (cd "$tmp" && apt-get download -qq "libopendht-dev=$version" libmsgpack-cxx-dev)
  fi
  mkdir -p "$deps"
  for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$deps"; done
  rm -rf "$tmp"
  echo "install-deps: unpacked OpenDHT $version and msgpack-cxx headers into .deps/"
fi

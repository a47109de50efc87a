#!/usr/bin/env bash
# `make install` of the embedding API into a scratch DESTDIR: headers, libzmesh.so and
# zmesh.pc; a C and a C++ program compile and link with `pkg-config zmesh` alone and run
# against the installed library; the library exports nothing but the API.
set -uo pipefail
build=$1
dest=$(mktemp -d /tmp/zmesh-api-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
prefix=/opt/zmesh-test

DESTDIR=$dest cmake --install "$build" --prefix "$prefix" >/dev/null || fail "cmake --install"
root=$dest$prefix
for f in include/zmesh/zmesh.h include/zmesh/zmesh.hpp lib/libzmesh.so lib/pkgconfig/zmesh.pc; do
  [ -e "$root/$f" ] || fail "$f not installed"
done
export PKG_CONFIG_PATH=$root/lib/pkgconfig
[ "$(pkg-config --modversion zmesh)" = "0.1.0" ] || fail "pkg-config --modversion"

cat > "$dest/use.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <zmesh/zmesh.h>
int main(void) {
    zmesh_node* node = NULL;
    const char* line[] = {"garbage"};
    if (zmesh_client_start(line, 1, 3, &node) != ZMESH_EINVAL || node) return 1;
    if (strlen(zmesh_last_error()) == 0) return 1;
    printf("zmesh %s\n", zmesh_version());
    return 0;
}
C
cat > "$dest/use.cpp" <<'CPP'
#include <iostream>
#include <zmesh/zmesh.hpp>
int main() {
    try {
        zmesh::Node::start_client({{"garbage"}, 3});
    } catch (const zmesh::Error& e) {
        std::cout << "zmesh " << zmesh::version() << " refused: " << e.what() << "\n";
        return e.code() == ZMESH_EINVAL ? 0 : 1;
    }
    return 1;
}
CPP
# shellcheck disable=SC2046
cc -std=c99 -Wall -Werror -o "$dest/use_c" "$dest/use.c" $(pkg-config --cflags --libs zmesh) \
  -Wl,-rpath,"$root/lib" || fail "a C program does not build with pkg-config zmesh"
# shellcheck disable=SC2046
c++ -std=c++17 -Wall -Werror -o "$dest/use_cpp" "$dest/use.cpp" \
  $(pkg-config --cflags --libs zmesh) -Wl,-rpath,"$root/lib" ||
  fail "a C++ program does not build with pkg-config zmesh"
out_c=$("$dest/use_c")
grep -qx "zmesh 0.1.0" <<< "$out_c" || fail "the C program did not run"
out_cpp=$("$dest/use_cpp")
grep -q "refused" <<< "$out_cpp" || fail "the C++ program did not run"
# (ldd's output is read whole: grep -q may leave early, and pipefail would count the pipe.)
libs=$(ldd "$dest/use_c")
grep -q "$root/lib/libzmesh.so" <<< "$libs" || fail "not linked to the installed library"

# Exported: the C functions and the C++ API's classes, nothing of the layers inside.
exported=$(nm -D --defined-only "$root/lib/libzmesh.so" | awk '{print $3}' | sed 's/@.*//' |
  c++filt)
others=$(printf '%s\n' "$exported" | grep -v -e '^zmesh_' -e '^zmesh::\(Node\|Stream\|Error\)' \
  -e '^zmesh::version()' -e 'for zmesh::Error$' -e '^ZMESH_0$' || true)
[ -z "$others" ] || fail "exported beyond the API: $(printf '%s\n' "$others" | head -5)"
grep -qx "zmesh_stream_open" <<< "$exported" || fail "zmesh_stream_open not exported"
echo "api install: headers, libzmesh.so and zmesh.pc installed; C and C++ build with pkg-config"

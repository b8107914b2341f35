#!/usr/bin/env bash
# Installs the current build into a fresh prefix and builds the quickstart
# against the installed copy only, three ways:
#   (a) cc $(pkg-config --cflags --libs salesfsm)           shared
#   (b) find_package(salesfsm CONFIG) + salesfsm::salesfsm   shared
#   (c) find_package(salesfsm CONFIG) + salesfsm::salesfsm_static
# runs each, and checks the installed shared library: SONAME libsalesfsm.so.0
# and no exported symbol outside sfsm_* (in a gcc --coverage build, libgcov's
# own exports are set aside).
#
# Usage: install_test.sh BUILD_DIR SOURCE_DIR
# Environment: CC (compiler), SFSM_CONSUMER_FLAGS (extra compile and link
# flags for the consumers, e.g. -fsanitize=address,undefined when the library
# was built with sanitizers, --coverage when it was built with gcov).
set -euo pipefail

build=${1:?usage: install_test.sh BUILD_DIR SOURCE_DIR}
src=${2:?usage: install_test.sh BUILD_DIR SOURCE_DIR}
cc=${CC:-cc}
extra=${SFSM_CONSUMER_FLAGS:-}
soname=libsalesfsm.so.0

tmp=$(mktemp -d "${TMPDIR:-/tmp}/salesfsm-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

fail() {
    echo "install: FAIL: $*" >&2
    exit 1
}
step() { echo "== $*"; }

step "cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" ||
    { cat "$tmp/install.log"; fail "cmake --install failed"; }

# Find what was installed; the libdir may be lib, lib64 or lib/<multiarch>.
pc=$(find "$prefix" -name salesfsm.pc -print -quit)
[[ -n $pc ]] || fail "salesfsm.pc was not installed"
libdir=$(dirname "$(dirname "$pc")")
[[ -f $libdir/libsalesfsm.a ]] || fail "libsalesfsm.a missing in $libdir"
[[ -e $libdir/libsalesfsm.so ]] || fail "libsalesfsm.so missing in $libdir"
[[ -e $libdir/$soname ]] || fail "$soname missing in $libdir"
for h in salesfsm.h common.h pipeline.h history.h opp.h store.h engine.h sys/store.h; do
    [[ -f $prefix/include/salesfsm/$h ]] || fail "header salesfsm/$h not installed"
done
[[ -f $libdir/cmake/salesfsm/salesfsmConfig.cmake ]] || fail "salesfsmConfig.cmake not installed"
[[ -f $libdir/cmake/salesfsm/salesfsmConfigVersion.cmake ]] || fail "salesfsmConfigVersion.cmake not installed"
echo "installed into $prefix (libdir $libdir)"

step "shared library: SONAME and exported symbols"
so=$(readlink -f "$libdir/libsalesfsm.so")
got=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
[[ $got == "$soname" ]] || fail "SONAME is '$got', expected '$soname'"
echo "SONAME $got"
nm -D --defined-only "$so" | awk '{ print $NF }' | LC_ALL=C sort >"$tmp/exports"
[[ -s $tmp/exports ]] || fail "the shared library exports nothing"
# A library built with gcc --coverage has libgcov linked in, and libgcov
# exports a few symbols of its own (__gcov_var, mangle_path, ...). Only when
# the library is instrumented, and only the symbols that the compiler's own
# libgcov.a defines, are set aside as the toolchain's.
nm "$so" >"$tmp/all_symbols" 2>/dev/null || true
if grep -q ' __gcov_init$' "$tmp/all_symbols"; then
    gcov_lib=$("$cc" -print-file-name=libgcov.a)
    [[ -f $gcov_lib ]] || fail "the library is built with gcov but $cc has no libgcov.a"
    nm --defined-only "$gcov_lib" 2>/dev/null |
        awk 'NF == 3 && $2 ~ /^[A-Z]$/ { print $3 }' | LC_ALL=C sort -u >"$tmp/toolchain"
    [[ -s $tmp/toolchain ]] || fail "no symbols found in $gcov_lib"
    LC_ALL=C comm -12 "$tmp/exports" "$tmp/toolchain" >"$tmp/ignored"
    LC_ALL=C comm -23 "$tmp/exports" "$tmp/toolchain" >"$tmp/exports.own"
    mv "$tmp/exports.own" "$tmp/exports"
    echo "coverage build: $(wc -l <"$tmp/ignored") exported symbols of $gcov_lib set aside"
    [[ -s $tmp/exports ]] || fail "the shared library exports nothing but libgcov"
fi
if grep -v '^sfsm_' "$tmp/exports" >"$tmp/stray"; then
    echo "exported symbols outside sfsm_*:" >&2
    cat "$tmp/stray" >&2
    fail "the shared library exports non-API symbols"
fi
echo "$(wc -l <"$tmp/exports") exported symbols, all sfsm_*"

# A consumer run: exit 0 and the walk must reach "serviced".
run_consumer() {
    local what=$1
    shift
    local out rc=0
    out=$("$@" 2>&1) || rc=$?
    if ((rc != 0)); then
        printf '%s\n' "$out" >&2
        fail "$what: quickstart exited $rc"
    fi
    grep -q 'serviced' <<<"$out" || { printf '%s\n' "$out" >&2; fail "$what: output lacks 'serviced'"; }
    echo "$what: quickstart ran OK"
}

step "(a) pkg-config"
export PKG_CONFIG_PATH=$libdir/pkgconfig
pkg-config --exists salesfsm || fail "pkg-config does not find salesfsm via $PKG_CONFIG_PATH"
[[ $(pkg-config --modversion salesfsm) == "$(sed -n 's/^Version: //p' "$pc")" ]] ||
    fail "pkg-config --modversion disagrees with $pc"
# shellcheck disable=SC2046,SC2086  # word splitting of the flags is intended
"$cc" -std=c11 -Wall -Wextra -Werror $extra -o "$tmp/qs_pkgconfig" "$src/examples/quickstart.c" \
    $(pkg-config --cflags --libs salesfsm) || fail "(a) build with pkg-config failed"
run_consumer "(a) pkg-config" env LD_LIBRARY_PATH="$libdir" "$tmp/qs_pkgconfig"

step "(b, c) find_package(salesfsm CONFIG)"
mkdir -p "$tmp/consumer"
cp "$src/examples/quickstart.c" "$tmp/consumer/"
cat >"$tmp/consumer/static_check.c" <<'EOF'
/* Consumers of salesfsm::salesfsm_static get SFSM_STATIC from the target. */
#ifndef SFSM_STATIC
#error "SFSM_STATIC is not defined for a salesfsm::salesfsm_static consumer"
#endif
#include <salesfsm/salesfsm.h>
int sfsm_static_check(void);
int sfsm_static_check(void) { return SFSM_OK; }
EOF
cat >"$tmp/consumer/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.25)
project(salesfsm_consumer LANGUAGES C)
find_package(salesfsm 0.1 CONFIG REQUIRED)
if(NOT TARGET salesfsm::salesfsm OR NOT TARGET salesfsm::salesfsm_static)
  message(FATAL_ERROR "salesfsm package lacks its targets")
endif()
add_executable(qs_shared quickstart.c)
target_link_libraries(qs_shared PRIVATE salesfsm::salesfsm)
add_executable(qs_static quickstart.c static_check.c)
target_link_libraries(qs_static PRIVATE salesfsm::salesfsm_static)
EOF
cmake -S "$tmp/consumer" -B "$tmp/consumer/build" \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_C_FLAGS="$extra" -DCMAKE_EXE_LINKER_FLAGS="$extra" \
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >"$tmp/consumer.log" 2>&1 ||
    { cat "$tmp/consumer.log"; fail "configuring the find_package consumer failed"; }
cmake --build "$tmp/consumer/build" >>"$tmp/consumer.log" 2>&1 ||
    { cat "$tmp/consumer.log"; fail "building the find_package consumer failed"; }

run_consumer "(b) salesfsm::salesfsm" env LD_LIBRARY_PATH="$libdir" "$tmp/consumer/build/qs_shared"

# The static binary must not need libsalesfsm.so at all.
if readelf -d "$tmp/consumer/build/qs_static" | grep -q 'NEEDED.*libsalesfsm'; then
    fail "(c) qs_static depends on libsalesfsm.so"
fi
run_consumer "(c) salesfsm::salesfsm_static" "$tmp/consumer/build/qs_static"

echo "install: all checks passed"

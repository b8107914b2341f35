#!/usr/bin/env bash
# The one entry point for building, demonstrating and testing salesfsm.
#
#   bash tools/run.sh demo            build, then run the demo
#   bash tools/run.sh test            build, then run the whole ctest suite
#   bash tools/run.sh test-sanitize   the suite again, built with ASan+UBSan
#                                     in build-asan/
#   bash tools/run.sh test-tsan       the threaded tests under ThreadSanitizer
#                                     in build-tsan/
#   bash tools/run.sh fuzz            fuzz every parser of outside input,
#                                     60 s each (libFuzzer, clang;
#                                     tests/fuzz/run.sh)
#   bash tools/run.sh test-valgrind   the C tests under valgrind's memcheck in
#                                     build-valgrind/, the durability tests
#                                     at reduced size (FULL=1: full size;
#                                     tools/valgrind.sh)
#   bash tools/run.sh coverage        the suite built with gcc --coverage in
#                                     build-cov/: line and branch % per file
#                                     of lib/, failing below 90 % branches
#                                     (tools/coverage.sh)
#
# Works as root on a fresh Debian 12: missing Debian packages are installed
# first (only the missing ones). As another user it names what is missing
# and stops.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

PACKAGES=(build-essential cmake pkg-config libcmocka-dev libcjson-dev libsqlite3-dev python3 graphviz
          python3-pip python3-setuptools python3-wheel)
# Only `run.sh fuzz` needs these: clang and its libFuzzer/sanitizer runtime.
FUZZ_PACKAGES=(clang libclang-rt-14-dev)
# Only `run.sh coverage` needs gcovr, and `run.sh test-valgrind` valgrind.
COVERAGE_PACKAGES=(gcovr)
VALGRIND_PACKAGES=(valgrind)
JOBS=$(nproc 2>/dev/null || echo 2)

# The demo: what `run.sh demo` runs in build/ (one line to change).
DEMO=(build/tools/salesfsm/salesfsm demo --db build/salesfsm-demo.db)

say() { printf '==> %s\n' "$*"; }
die() {
    local rc=$1
    shift
    printf 'run.sh: %s\n' "$*" >&2
    exit "$rc"
}

# Runs a step; on failure says which step failed and exits with its code.
step() {
    local what=$1
    shift
    say "$what"
    local rc=0
    "$@" || rc=$?
    ((rc == 0)) || die "$rc" "$what failed (exit $rc)"
}

usage() {
    cat >&2 <<'EOF'
usage: bash tools/run.sh demo | test | test-sanitize | test-tsan | test-valgrind | fuzz | coverage
  demo           build into build/ and run the demo
  test           build into build/ and run the whole test suite (ctest)
  test-sanitize  build into build-asan/ with ASan+UBSan and run the suite
  test-tsan      build into build-tsan/ with ThreadSanitizer and run the
                 tests that use threads
  test-valgrind  build into build-valgrind/ and run the C tests under
                 valgrind's memcheck (durability tests reduced; FULL=1 full)
  fuzz           fuzz every parser of outside input for 60 s each with
                 libFuzzer (clang, ASan+UBSan), in a temporary directory
  coverage       build into build-cov/ with gcc --coverage, run the suite,
                 print line and branch % per file of lib/; fails below 90 %
                 branches (COVERAGE_MIN_BRANCH)
EOF
    exit 2
}

# ensure_packages [PACKAGE...]: the given Debian packages (default: PACKAGES).
ensure_packages() {
    local wanted=("$@")
    ((${#wanted[@]})) || wanted=("${PACKAGES[@]}")
    if ! command -v dpkg-query >/dev/null 2>&1; then
        say "not a Debian system: make sure these (or their equivalents) are installed: ${wanted[*]}"
        return 0
    fi
    local missing=() p status
    for p in "${wanted[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        [[ $status == "install ok installed" ]] || missing+=("$p")
    done
    if ((${#missing[@]} == 0)); then
        say "Debian packages present: ${wanted[*]}"
        return 0
    fi
    if ((EUID != 0)); then
        die 1 "missing Debian packages: ${missing[*]}
install them as root, then run this again:
  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
    fi
    step "apt-get update" apt-get update
    step "installing missing Debian packages: ${missing[*]}" \
        env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

# build DIR CMAKE_ARGS...: configure (idempotent) and build everything.
build() {
    local dir=$1
    shift
    step "configuring $dir/" cmake -S . -B "$dir" -DSALESFSM_WERROR=ON "$@"
    step "building $dir/ (-j$JOBS)" cmake --build "$dir" -j "$JOBS"
}

run_suite() {
    local dir=$1
    step "running the test suite in $dir/" \
        ctest --test-dir "$dir" --output-on-failure --no-tests=error -j "$JOBS"
}

mode=${1:-}
(($# <= 1)) || usage
case $mode in
demo)
    ensure_packages
    build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
    step "installing the Python package (tools/install_python.sh)" bash tools/install_python.sh build
    step "running the demo: ${DEMO[*]}" "${DEMO[@]}"
    ;;
test)
    ensure_packages
    build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
    step "installing the Python package (tools/install_python.sh)" bash tools/install_python.sh build
    run_suite build
    ;;
test-sanitize)
    ensure_packages
    build build-asan -DCMAKE_BUILD_TYPE=Debug -DSALESFSM_SANITIZE=ON
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    run_suite build-asan
    ;;
test-tsan)
    ensure_packages
    build build-tsan -DCMAKE_BUILD_TYPE=Debug -DSALESFSM_TSAN=ON -DSALESFSM_BUILD_EXAMPLES=OFF -DSALESFSM_BUILD_BENCH=OFF
    export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
    step "running the threaded tests under ThreadSanitizer in build-tsan/" \
        ctest --test-dir build-tsan --output-on-failure --no-tests=error -R '^(threads|errors|batch|hooks)$'
    ;;
fuzz)
    ensure_packages "${PACKAGES[@]}" "${FUZZ_PACKAGES[@]}"
    step "fuzzing every parser of outside input, 60 s each (tests/fuzz/run.sh)" bash tests/fuzz/run.sh 60
    ;;
test-valgrind)
    ensure_packages "${PACKAGES[@]}" "${VALGRIND_PACKAGES[@]}"
    step "running the C tests under valgrind in build-valgrind/ (tools/valgrind.sh)" bash tools/valgrind.sh build-valgrind
    ;;
coverage)
    ensure_packages "${PACKAGES[@]}" "${COVERAGE_PACKAGES[@]}"
    step "measuring coverage of lib/ in build-cov/ (tools/coverage.sh)" bash tools/coverage.sh build-cov
    ;;
*)
    usage
    ;;
esac
say "$mode: done"

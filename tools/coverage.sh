#!/usr/bin/env bash
# Line and branch coverage of lib/ over the whole ctest suite.
#
#   bash tools/coverage.sh [BUILD_DIR]        (default BUILD_DIR: build-cov)
#
# 1. configures BUILD_DIR with gcc --coverage (Debug, -O0, SALESFSM_WERROR=ON)
#    and builds everything;
# 2. zeroes the counters (deletes every .gcda under BUILD_DIR);
# 3. runs the whole ctest suite: the C tests, the Python and CLI tests and the
#    cmake-driven ones (install, examples, ...) -- they all drive the
#    instrumented library, and every run adds to the same counters;
# 4. prints line and branch % for each file of lib/ and the total (gcovr);
# 5. exits non-zero when the suite fails or when the total branch coverage of
#    lib/ is below COVERAGE_MIN_BRANCH (default 90).
#
# Environment:
#   COVERAGE_MIN_BRANCH  threshold in % for the total branch coverage (90)
#   COVERAGE_HTML=DIR    also write gcovr's per-line HTML report into DIR
#                        (DIR/index.html), to find the uncovered branches
#   COVERAGE_JOBS        parallel build and ctest jobs (default: nproc)
#
# Needs gcc, gcov and gcovr (Debian package `gcovr`).
#
# -fprofile-update=atomic: the threaded tests run the library in several
# threads at once; plain counter increments then lose updates, and a branch
# count derived from them can come out negative, which gcov prints and gcovr
# refuses to parse ("branch 2 taken -2").
#
# gcovr options, and why:
#   --root SRC --filter SRC/lib/   only the library's own sources count; the
#                        tests, tools, examples and bindings are not measured.
#   --exclude-unreachable-branches  drops the branches gcc attaches to lines
#                        that hold no code of their own (a closing brace, a
#                        line with only `}` or `else`); they are artefacts of
#                        code generation, not decisions in the source.
#   No exclusion markers are honoured (--no-markers) and no branch or line is
#   excluded by pattern: every real branch of lib/ counts.
#   --exclude-throw-branches is not used: C has no exceptions, so it would
#   change nothing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

BUILD=${1:-build-cov}
MIN_BRANCH=${COVERAGE_MIN_BRANCH:-90}
JOBS=${COVERAGE_JOBS:-$(nproc 2>/dev/null || echo 2)}
start=$SECONDS

say() { printf '==> %s\n' "$*"; }
die() {
    printf 'coverage.sh: %s\n' "$*" >&2
    exit 1
}
# shellcheck disable=SC2317  # called from the EXIT trap
elapsed() { say "coverage: took $((SECONDS - start)) s"; }
trap elapsed EXIT

[[ $MIN_BRANCH =~ ^[0-9]+([.][0-9]+)?$ ]] || die "COVERAGE_MIN_BRANCH must be a number, not '$MIN_BRANCH'"
for tool in gcc gcov gcovr python3; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (Debian: apt-get install gcovr gcc python3)"
done

say "configuring $BUILD/ with --coverage (Debug, -O0)"
cmake -S . -B "$BUILD" -DSALESFSM_WERROR=ON -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_C_COMPILER=gcc \
    -DCMAKE_C_FLAGS="--coverage -fprofile-update=atomic -O0" \
    -DCMAKE_EXE_LINKER_FLAGS="--coverage" \
    -DCMAKE_SHARED_LINKER_FLAGS="--coverage" >"$BUILD.configure.log" 2>&1 ||
    { cat "$BUILD.configure.log" >&2; die "configuring $BUILD failed"; }
rm -f "$BUILD.configure.log"

say "building $BUILD/ (-j$JOBS)"
cmake --build "$BUILD" -j "$JOBS"

# The Python tests load the library from the build, the package from the
# source tree; nothing needs installing.
say "zeroing the counters"
find "$BUILD" -name '*.gcda' -delete

say "running the whole test suite in $BUILD/"
suite_rc=0
ctest --test-dir "$BUILD" --output-on-failure --no-tests=error -j "$JOBS" || suite_rc=$?

say "coverage of lib/ (gcovr $(gcovr --version | sed -n '1s/^gcovr //p'))"
summary=$(mktemp "${TMPDIR:-/tmp}/salesfsm-cov.XXXXXX")
trap 'rm -f "$summary"; elapsed' EXIT
# Only lib/'s objects are searched: the tests' and tools' would be parsed
# for nothing (and CMake's compiler probe has no source).
gcovr_args=(--root "$ROOT" --filter "$ROOT/lib/"
            --exclude-unreachable-branches --no-markers -j "$JOBS"
            --json-summary "$summary")
if [[ -n ${COVERAGE_HTML:-} ]]; then
    mkdir -p "$COVERAGE_HTML"
    gcovr_args+=(--html-details "$COVERAGE_HTML/index.html")
fi
gcovr "${gcovr_args[@]}" "$BUILD/lib"

cov_rc=0
python3 - "$summary" "$MIN_BRANCH" <<'EOF' || cov_rc=$?
import json, sys

data = json.load(open(sys.argv[1]))
minimum = float(sys.argv[2])

def pct(covered, total):
    return 100.0 * covered / total if total else 100.0

def row(name, lc, lt, bc, bt):
    print(f"{name:<28} {lc:>6}/{lt:<6} {pct(lc, lt):>6.1f} %  {bc:>6}/{bt:<6} {pct(bc, bt):>6.1f} %")

print(f"{'file':<28} {'lines':^13} {'line %':>8}  {'branches':^13} {'branch %':>8}")
for f in sorted(data["files"], key=lambda f: f["filename"]):
    row(f["filename"], f["line_covered"], f["line_total"], f["branch_covered"], f["branch_total"])
bc, bt = data["branch_covered"], data["branch_total"]
row("TOTAL lib/", data["line_covered"], data["line_total"], bc, bt)
branch = pct(bc, bt)
if branch < minimum:
    print(f"coverage: FAIL: branch coverage of lib/ is {branch:.1f} %, below {minimum:g} %",
          file=sys.stderr)
    sys.exit(1)
print(f"coverage: branch coverage of lib/ {branch:.1f} % >= {minimum:g} %")
EOF
if [[ -n ${COVERAGE_HTML:-} ]]; then
    say "per-line report: $COVERAGE_HTML/index.html"
fi

((suite_rc == 0)) || die "the test suite failed (ctest exit $suite_rc)"
((cov_rc == 0)) || die "branch coverage below ${MIN_BRANCH} %"
exit 0

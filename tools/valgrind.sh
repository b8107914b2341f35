#!/usr/bin/env bash
# The C test suite under valgrind's memcheck: every error and every definite
# or indirect leak fails.
#
#   bash tools/valgrind.sh [BUILD_DIR]      (default: build-valgrind)
#
# Configures BUILD_DIR (RelWithDebInfo, -DSALESFSM_WERROR=ON, no
# sanitizers: valgrind and ASan do not mix), builds it, asks ctest for its
# tests and runs each C program among them under memcheck, with the
# environment and working directory ctest would give it:
#   - a test whose command is a program of BUILD_DIR (the cmocka tests on
#     memory and SQLite, the conformance suites, crash, multiprocess) runs
#     under valgrind directly;
#   - a test that runs a program of BUILD_DIR through a driver (the examples
#     and custom_store through `cmake -P`, the CLI through
#     tests/cli/test_cli*.py) gets a wrapper in its place, so that only that
#     program runs under valgrind, not cmake or the Python interpreter;
#   - the rest (headers, install, and the Python bindings' tests, which run
#     the library inside the Python interpreter) are out of scope: listed as
#     skipped.
# Processes a test forks stay under valgrind (fork keeps it), each with its
# own log. A child the test kills with SIGKILL (crash) writes no summary and
# cannot report leaks: its log counts only for the errors it shows before the
# kill, while the test's own process must always finish with its summary.
# Programs the tests exec (graphviz's dot in test_graph) are not ours and
# run natively (--trace-children=no).
#
# A test passes when it exits 0, every finished process reports
# "ERROR SUMMARY: 0 errors" (definite and indirect leaks count as errors
# through --errors-for-leak-kinds) and no killed process shows an error. A
# failure prints the test's output and the valgrind logs that have errors.
# Logs: BUILD_DIR/valgrind/logs/<test>/<pid>.log.
#
# Environment:
#   FULL=1              the durability tests at full size (crash 100 rounds,
#                       multiprocess 400 iterations: their defaults); without
#                       it they run reduced (SFSM_CRASH_ROUNDS=20,
#                       SFSM_MP_ITERS=100), as CI does. SFSM_CRASH_ROUNDS or
#                       SFSM_MP_ITERS set by the caller win over both.
#   VG_CLI=1            also the CLI tests driven by tests/cli/*.py (each of
#                       their ~400 runs of the binary starts valgrind anew:
#                       about 6 min more on 2 cores); on with FULL=1
#   VG_TESTS=REGEX      only the tests whose name matches (grep -E)
#   VG_JOBS=N           tests run at once (default: nproc)
#   VG_TRACK_ORIGINS=1  --track-origins=yes (twice as slow; use it to find
#                       where an uninitialised value comes from)
#   VG_TIMEOUT=SECONDS  per test (default 1800)
#   VG_NO_BUILD=1       skip configure and build (BUILD_DIR already built)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-build-valgrind}
[[ $BUILD == /* ]] || BUILD=$ROOT/$BUILD
JOBS=${VG_JOBS:-$(nproc 2>/dev/null || echo 2)}
TIMEOUT=${VG_TIMEOUT:-1800}
TRACK_ORIGINS=no
[[ ${VG_TRACK_ORIGINS:-0} == 1 ]] && TRACK_ORIGINS=yes
# Exit code of a program in which valgrind found an error (any other
# non-zero code is the program's own failure).
VG_EXIT=97

say() { printf '==> %s\n' "$*"; }
die() {
    printf 'valgrind.sh: %s\n' "$*" >&2
    exit 1
}

command -v valgrind >/dev/null 2>&1 ||
    die "valgrind is not installed (Debian: apt-get install -y --no-install-recommends valgrind)"
command -v python3 >/dev/null 2>&1 || die "python3 is needed to read ctest's test list"

if [[ ${VG_NO_BUILD:-0} != 1 ]]; then
    say "configuring $BUILD"
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSALESFSM_WERROR=ON \
        -DSALESFSM_SANITIZE=OFF -DSALESFSM_TSAN=OFF -DSALESFSM_BUILD_BENCH=OFF >/dev/null ||
        die "configuring $BUILD failed"
    say "building $BUILD (-j$JOBS)"
    cmake --build "$BUILD" -j "$JOBS" >/dev/null || die "building $BUILD failed"
fi

if [[ ${FULL:-0} == 1 ]]; then
    say "durability tests at full size (FULL=1)"
else
    export SFSM_CRASH_ROUNDS=${SFSM_CRASH_ROUNDS:-20}
    export SFSM_MP_ITERS=${SFSM_MP_ITERS:-100}
    say "durability tests reduced: SFSM_CRASH_ROUNDS=$SFSM_CRASH_ROUNDS SFSM_MP_ITERS=$SFSM_MP_ITERS (FULL=1: full size)"
fi

VGDIR=$BUILD/valgrind
rm -rf "$VGDIR"
mkdir -p "$VGDIR/wrap" "$VGDIR/run" "$VGDIR/logs" "$VGDIR/out"

# The one valgrind command line. VG_LOGDIR (set per test) collects one log
# per process; the wrapper notes its pid (valgrind's, after exec) in `top`
# so that the test's own processes must end with a summary.
cat >"$VGDIR/vg" <<EOF
#!/bin/sh
: "\${VG_LOGDIR:?VG_LOGDIR is not set}"
echo \$\$ >>"\$VG_LOGDIR/top"
# Leak checking follows the test's own ASan setting: conformance_selftest
# turns it off because cmocka's longjmp out of a failing check strands its
# scratch copies by design. Memory errors are checked everywhere.
leaks="--leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect"
case "\${ASAN_OPTIONS:-}" in *detect_leaks=0*) leaks="--leak-check=no" ;; esac
exec valgrind --tool=memcheck \$leaks --error-exitcode=$VG_EXIT \\
    --track-origins=$TRACK_ORIGINS --num-callers=40 --trace-children=no \\
    --log-file="\$VG_LOGDIR/%p.log" "\$@"
EOF
chmod +x "$VGDIR/vg"

# ctest's test list -> one run script per test (or a reason to skip it).
(cd "$BUILD" && ctest --show-only=json-v1) >"$VGDIR/tests.json"
python3 - "$BUILD" "$VGDIR" <<'PY'
import json, os, re, shlex, sys

build, vgdir = (os.path.realpath(a) for a in sys.argv[1:3])
vg = os.path.join(vgdir, "vg")
tests = json.load(open(os.path.join(vgdir, "tests.json")))["tests"]


def program(path):
    """An executable ELF program (not a shared library) of the build tree."""
    p = os.path.realpath(path)
    if not p.startswith(build + os.sep) or re.search(r"\.so(\.|$)", p):
        return False
    if not (os.path.isfile(p) and os.access(p, os.X_OK)):
        return False
    with open(p, "rb") as f:
        return f.read(4) == b"\x7fELF"


def wrapper(path):
    """A script that runs the program under valgrind, for a driver to run."""
    w = os.path.join(vgdir, "wrap", os.path.basename(path))
    with open(w, "w") as f:
        f.write("#!/bin/sh\nexec %s %s \"$@\"\n" % (shlex.quote(vg), shlex.quote(path)))
    os.chmod(w, 0o755)
    return w


def wrap_value(v):
    """v, or a -DNAME=program argument or program path with the wrapper in place."""
    m = re.match(r"(-D[A-Za-z_][A-Za-z0-9_]*=)(.*)$", v, re.S)
    head, tail = (m.group(1), m.group(2)) if m else ("", v)
    return (head + wrapper(tail), True) if program(tail) else (v, False)


with open(os.path.join(vgdir, "list"), "w") as listing:
    for t in tests:
        name, cmd = t["name"], t.get("command") or []
        props = {p["name"]: p["value"] for p in t.get("properties", [])}
        if props.get("DISABLED"):
            continue
        env = list(props.get("ENVIRONMENT") or [])
        wd = props.get("WORKING_DIRECTORY") or build
        if cmd and program(cmd[0]):
            argv, how = [vg] + cmd, "direct"
        else:
            argv, wrapped = [], False
            for a in cmd:
                a2, w = wrap_value(a)
                argv.append(a2)
                wrapped |= w
            for i, e in enumerate(env):
                k, _, v = e.partition("=")
                v2, w = wrap_value(v)
                if w:
                    env[i] = k + "=" + v2
                    wrapped = True
            how = "wrapped" if wrapped else ""
        if not how:
            what = " ".join(os.path.basename(c) for c in cmd[:2])
            listing.write("%s\tskip\tnot a C program of the build (%s)\n" % (name, what))
            continue
        with open(os.path.join(vgdir, "run", name + ".sh"), "w") as f:
            f.write("cd %s\n" % shlex.quote(wd))
            for e in env:
                k, _, v = e.partition("=")
                f.write("export %s=%s\n" % (k, shlex.quote(v)))
            f.write("exec %s\n" % " ".join(shlex.quote(a) for a in argv))
        listing.write("%s\t%s\t\n" % (name, how))
PY

# check_logs DIR: one line "errors definite indirect processes problems"
# summing the logs of a test; `problems` counts logs to show (errors, or a
# top-level process that did not finish). Details go to DIR/problems.
check_logs() {
    local dir=$1
    : >"$dir/problems"
    local errors=0 definite=0 indirect=0 procs=0 problems=0 f pid n
    for f in "$dir"/*.log; do
        [[ -e $f ]] || continue
        procs=$((procs + 1))
        pid=$(basename "$f" .log)
        if n=$(grep -Eo 'ERROR SUMMARY: [0-9]+' "$f" | grep -Eo '[0-9]+$'); then
            errors=$((errors + n))
            definite=$((definite + $(awk '/definitely lost:/ { gsub(",", "", $4); s += $4 } END { print s + 0 }' "$f")))
            indirect=$((indirect + $(awk '/indirectly lost:/ { gsub(",", "", $4); s += $4 } END { print s + 0 }' "$f")))
            if ((n > 0)); then
                problems=$((problems + 1))
                echo "$f" >>"$dir/problems"
            fi
        elif grep -qx "$pid" "$dir/top" 2>/dev/null; then
            # the test's own process ended without a summary: killed, or timed out
            errors=$((errors + 1))
            problems=$((problems + 1))
            echo "$f (the process did not finish: no ERROR SUMMARY)" >>"$dir/problems"
        else
            # a child killed by the test: any line past valgrind's banner is an error it reported
            n=$(grep -Ev '^==[0-9]+== (Memcheck, a memory error detector|Copyright |Using Valgrind-|Command: |Parent PID: |Warning: |$)' "$f" | grep -c '' || true)
            if ((n > 0)); then
                errors=$((errors + 1))
                problems=$((problems + 1))
                echo "$f (a killed child that reported errors first)" >>"$dir/problems"
            fi
        fi
    done
    echo "$errors $definite $indirect $procs $problems"
}

# run_test NAME: runs it, writes VGDIR/out/NAME.result ("PASS ..."/"FAIL ...").
run_test() {
    local name=$1 logdir=$VGDIR/logs/$1 out=$VGDIR/out/$1.out rc=0 t0 t1
    mkdir -p "$logdir"
    t0=$(date +%s.%N)
    VG_LOGDIR=$logdir timeout --kill-after=30 "$TIMEOUT" bash "$VGDIR/run/$name.sh" >"$out" 2>&1 || rc=$?
    t1=$(date +%s.%N)
    local errors definite indirect procs problems
    read -r errors definite indirect procs problems < <(check_logs "$logdir")
    local verdict=PASS why=""
    if ((rc != 0)); then
        verdict=FAIL
        why="exit $rc"
        if ((rc == VG_EXIT)); then
            why+=" (valgrind found errors)"
        elif ((rc == 124)); then
            why+=" (timed out after $TIMEOUT s)"
        fi
    fi
    if ((problems > 0)); then
        verdict=FAIL
        why="${why:+$why, }$problems log(s) with errors"
    fi
    if ((procs == 0)); then
        verdict=FAIL
        why="${why:+$why, }no valgrind log: the program did not run under valgrind"
    fi
    printf '%s\t%s\t%.1f\t%s\t%s\t%s\t%s\t%s\n' "$verdict" "$name" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
        "$procs" "$errors" "$definite" "$indirect" "$why" >"$VGDIR/out/$name.result"
}

mapfile -t lines <"$VGDIR/list"
selected=()
skipped=()
for l in "${lines[@]}"; do
    IFS=$'\t' read -r name how why <<<"$l"
    if [[ -n ${VG_TESTS:-} ]] && ! grep -Eq -- "$VG_TESTS" <<<"$name"; then
        continue
    fi
    if [[ $how == skip ]]; then
        skipped+=("$name: $why")
    elif [[ $name == cli* && $how == wrapped && ${FULL:-0} != 1 && ${VG_CLI:-0} != 1 ]]; then
        skipped+=("$name: the CLI's Python-driven tests (~400 runs at ~1 s each under valgrind) run with FULL=1 or VG_CLI=1")
    else
        selected+=("$name")
    fi
done
((${#selected[@]})) || die "no test selected${VG_TESTS:+ by VG_TESTS=$VG_TESTS}"

# The slowest tests first, so that the last ones to finish are short.
order=()
for slow in crash multiprocess cli cli_hostile reports reports_sqlite threads threads_sqlite; do
    for n in "${selected[@]}"; do [[ $n == "$slow" ]] && order+=("$n"); done
done
for n in "${selected[@]}"; do
    [[ " ${order[*]} " == *" $n "* ]] || order+=("$n")
done

say "running ${#order[@]} tests under valgrind memcheck, $JOBS at a time (track-origins=$TRACK_ORIGINS)"
T0=$(date +%s)
running=0
report_one() {
    local r
    r=$(cat "$VGDIR/out/$1.result")
    IFS=$'\t' read -r verdict name secs procs errors definite indirect why <<<"$r"
    printf '%-4s %-24s %7.1f s  %3s processes  %s errors  definite %s B  indirect %s B%s\n' \
        "$verdict" "$name" "$secs" "$procs" "$errors" "$definite" "$indirect" "${why:+  -- $why}"
}
for name in "${order[@]}"; do
    while ((running >= JOBS)); do
        wait -n || true
        running=$((running - 1))
    done
    run_test "$name" &
    running=$((running + 1))
done
wait
T1=$(date +%s)

echo
failed=()
for name in "${order[@]}"; do
    report_one "$name"
    [[ $(cut -f1 "$VGDIR/out/$name.result") == PASS ]] || failed+=("$name")
done
for s in "${skipped[@]}"; do
    printf 'SKIP %s\n' "$s"
done

for name in "${failed[@]}"; do
    printf '\n======== %s: test output (last 100 lines of %s) ========\n' "$name" "$VGDIR/out/$name.out"
    tail -n 100 "$VGDIR/out/$name.out"
    while read -r line; do
        f=${line%% *}
        printf '\n======== %s: %s ========\n' "$name" "$line"
        cat "$f"
    done <"$VGDIR/logs/$name/problems"
done

echo
say "${#order[@]} tests under valgrind in $((T1 - T0)) s: $((${#order[@]} - ${#failed[@]})) passed, ${#failed[@]} failed, ${#skipped[@]} skipped"
((${#failed[@]} == 0)) || die "failed under valgrind: ${failed[*]}"

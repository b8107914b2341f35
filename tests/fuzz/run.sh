#!/usr/bin/env bash
# Fuzzes every parser of outside input with libFuzzer under ASan+UBSan.
#
#   bash tests/fuzz/run.sh [SECONDS [TARGET...]]    default 60 s, every target
#
# Targets (tests/fuzz/<target>_fuzz.c; each states its invariants on top):
#   pipeline  the pipeline loader, sfsm_pipeline_from_json: accepted input
#             prints, loads again and prints the same bytes
#   import    the JSON import, sfsm_import_json, on a memory store: accepted
#             input exports, re-imports into a fresh store and exports the
#             same bytes; refused input leaves the store as it was, with a
#             documented error code and a message
#   export    the export, sfsm_export_json, over records and histories built
#             from the input in a backend of the target's own: a refusal is
#             SFSM_ESTORAGE naming an opportunity; a document it writes
#             imports into a fresh memory store and exports the same bytes
#   changes   the reader of a history entry's `changes` text behind as-of
#             reports (parse_changes, lib/report_data.c): stable decoding,
#             agreement with cJSON on valid objects
#   cli       the CLI's amount, date, period and count parsers
#             (tools/salesfsm/money.c, cli_period.c, cli_args.c): accepted
#             text formats back to the same value; a refusal gives a reason
#
# Builds every target first (the library and CLI sources once, with clang,
# into a temporary directory; the repository is never written to), then runs
# each for SECONDS on a copy of its seed corpus tests/fuzz/corpus/<target>/
# plus the reproducers of past findings tests/fuzz/regressions/<target>/
# (replayed first, every run), with tests/fuzz/<target>.dict if there is one.
# Prints each target's executions (stat::number_of_executed_units) and final
# coverage (cov:, ft:) and a summary. Exits non-zero if a build fails or any
# target finds a crash, a leak, undefined behaviour or a broken invariant;
# the work directory with the reproducers is then kept and their paths and
# the command to replay each are printed. To keep a finding, copy its
# reproducer to tests/fuzz/regressions/<target>/.
#
# Needs clang and its runtime (Debian: clang, libclang-rt-14-dev; tools/run.sh
# fuzz installs them), libcjson-dev and libsqlite3-dev.
# Environment: CC (default clang), FUZZ_KEEP=1 keeps the work directory.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ALL_TARGETS=(pipeline import export changes cli)
usage() {
    echo "usage: bash tests/fuzz/run.sh [SECONDS [TARGET...]]   targets: ${ALL_TARGETS[*]}" >&2
    exit 2
}
SECONDS_TO_RUN=${1:-60}
[[ $SECONDS_TO_RUN =~ ^[1-9][0-9]*$ ]] || usage
shift $(($# > 0 ? 1 : 0))
targets=("$@")
((${#targets[@]})) || targets=("${ALL_TARGETS[@]}")
for t in "${targets[@]}"; do
    [[ " ${ALL_TARGETS[*]} " == *" $t "* ]] || { echo "fuzz: unknown target '$t'" >&2; usage; }
done
CC=${CC:-clang}
command -v "$CC" >/dev/null 2>&1 || { echo "fuzz: $CC not found (install clang and libclang-rt-14-dev)" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/salesfsm-fuzz.XXXXXX")
keep=${FUZZ_KEEP:-0}
cleanup() {
    if [[ $keep == 1 ]]; then
        echo "fuzz: work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

say() { printf 'fuzz: %s\n' "$*"; }

SAN=(-fsanitize=address,undefined -fno-sanitize-recover=all)
CFLAGS=(-std=c11 -g -O1 -DSFSM_BUILDING -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
        -I"$ROOT/include" -I"$ROOT/lib" -I"$ROOT/tools/salesfsm")
LIBS=(-lsqlite3 -lcjson -lpthread -lm)

# Objects of the sources some target links: lib/*.c always, the CLI's
# (tools/salesfsm/*.c but main.c) for the cli target. Compiled once.
compile_dir() {   # compile_dir OUTDIR SOURCE...
    local out=$1 src
    shift
    mkdir -p "$out"
    for src in "$@"; do
        "$CC" "${CFLAGS[@]}" "${SAN[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$out/$(basename "${src%.c}").o"
    done
}
say "building with $CC in $WORK"
compile_dir "$WORK/obj/lib" "$ROOT"/lib/*.c
if [[ " ${targets[*]} " == *" cli "* ]]; then
    cli_src=()
    for f in "$ROOT"/tools/salesfsm/*.c; do
        [[ $(basename "$f") == main.c ]] || cli_src+=("$f")
    done
    compile_dir "$WORK/obj/cli" "${cli_src[@]}"
fi

# The objects each target links besides its own file.
objects_of() {
    local o
    case $1 in
        changes)   # it includes lib/report_data.c itself (the reader is static)
            for o in "$WORK"/obj/lib/*.o; do [[ $(basename "$o") == report_data.o ]] || echo "$o"; done ;;
        cli) ls "$WORK"/obj/cli/*.o "$WORK"/obj/lib/*.o ;;
        *) ls "$WORK"/obj/lib/*.o ;;
    esac
}
for t in "${targets[@]}"; do
    mkdir -p "$WORK/$t/corpus" "$WORK/$t/artifacts"
    mapfile -t objs < <(objects_of "$t")
    "$CC" "${CFLAGS[@]}" "${SAN[@]}" -fsanitize=fuzzer "$ROOT/tests/fuzz/${t}_fuzz.c" "${objs[@]}" \
        -o "$WORK/$t/${t}_fuzz" "${LIBS[@]}"
    say "built $t"
done

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

declare -A execs cov result
failed=()
for t in "${targets[@]}"; do
    dir=$WORK/$t
    cp "$ROOT/tests/fuzz/corpus/$t"/* "$dir/corpus/"
    inputs=(corpus)
    if [[ -d $ROOT/tests/fuzz/regressions/$t ]] && [[ -n $(ls -A "$ROOT/tests/fuzz/regressions/$t") ]]; then
        mkdir -p "$dir/regressions"
        cp "$ROOT/tests/fuzz/regressions/$t"/* "$dir/regressions/"
        inputs+=(regressions)
    fi
    opts=()
    [[ -f $ROOT/tests/fuzz/$t.dict ]] && opts+=(-dict="$ROOT/tests/fuzz/$t.dict")
    [[ $t == cli ]] && opts+=(-max_len=64)   # command-line words are short
    say "$t: $(find "$dir/corpus" -type f | wc -l) seeds; running for ${SECONDS_TO_RUN}s"
    rc=0
    (cd "$dir" && "./${t}_fuzz" -max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$dir/artifacts/" -print_final_stats=1 "${opts[@]}" "${inputs[@]}") \
        >"$dir/log" 2>&1 || rc=$?
    execs[$t]=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -n 1)
    cov[$t]=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$dir/log" | tail -n 1)
    if ((rc != 0)) || [[ -n $(ls -A "$dir/artifacts") ]]; then
        result[$t]=FAILED
        failed+=("$t")
        tail -n 60 "$dir/log" >&2
    else
        result[$t]=ok
    fi
    say "$t: ${result[$t]}: ${execs[$t]:-?} executions, ${cov[$t]:-no coverage line}," \
        "corpus grew to $(find "$dir/corpus" -type f | wc -l) files"
done

say "summary (${SECONDS_TO_RUN}s per target):"
for t in "${targets[@]}"; do
    printf 'fuzz:   %-9s %-7s %12s executions   %s\n' "$t" "${result[$t]}" "${execs[$t]:-?}" "${cov[$t]:-}"
done
if ((${#failed[@]})); then
    keep=1
    echo "fuzz: FAILED: ${failed[*]}; full logs in $WORK/<target>/log; reproducers:" >&2
    for t in "${failed[@]}"; do
        for f in "$WORK/$t"/artifacts/*; do
            [[ -e $f ]] || continue
            echo "  $f" >&2
            echo "  reproduce: $WORK/$t/${t}_fuzz $f" >&2
        done
    done
    exit 1
fi

#!/usr/bin/env bash
# Fuzzes the pipeline loader (sfsm_pipeline_from_json) with libFuzzer.
#
#   bash tests/fuzz/run.sh [SECONDS]        default 60
#
# Builds tests/fuzz/pipeline_fuzz.c together with the library sources
# (lib/*.c) with clang under ASan+UBSan into a temporary directory, copies
# the seed corpus tests/fuzz/corpus/pipeline/ there (the repository is never
# written to) and runs the target for SECONDS. Exits non-zero if the build
# fails or the fuzzer finds a crash, a leak, undefined behaviour or a
# round-trip mismatch; the reproducer is then kept and its path printed.
#
# Needs clang and its runtime (Debian: clang, libclang-rt-14-dev; tools/run.sh
# fuzz installs them), libcjson-dev and libsqlite3-dev.
# Environment: CC (default clang), FUZZ_KEEP=1 keeps the work directory.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SECONDS_TO_RUN=${1:-60}
if ! [[ $SECONDS_TO_RUN =~ ^[1-9][0-9]*$ ]] || (($# > 1)); then
    echo "usage: bash tests/fuzz/run.sh [SECONDS]" >&2
    exit 2
fi
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

say "building $WORK/pipeline_fuzz with $CC"
"$CC" -std=c11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -g -O1 \
    -DSFSM_BUILDING -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
    -I"$ROOT/include" -I"$ROOT/lib" \
    "$ROOT/tests/fuzz/pipeline_fuzz.c" "$ROOT"/lib/*.c \
    -o "$WORK/pipeline_fuzz" -lsqlite3 -lcjson -lpthread -lm

mkdir -p "$WORK/corpus" "$WORK/artifacts"
cp "$ROOT"/tests/fuzz/corpus/pipeline/* "$WORK/corpus/"
say "corpus: $(find "$WORK/corpus" -type f | wc -l) seed files (a copy in $WORK/corpus)"

dict=()
[[ -f $ROOT/tests/fuzz/pipeline.dict ]] && dict=(-dict="$ROOT/tests/fuzz/pipeline.dict")

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
say "running for ${SECONDS_TO_RUN}s"
rc=0
(cd "$WORK" && ./pipeline_fuzz -max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$WORK/artifacts/" -print_final_stats=1 "${dict[@]}" corpus) || rc=$?

if ((rc != 0)) || [[ -n $(ls -A "$WORK/artifacts") ]]; then
    keep=1
    echo "fuzz: FAILED (exit $rc); reproducers:" >&2
    for f in "$WORK"/artifacts/*; do
        [[ -e $f ]] || continue
        echo "  $f" >&2
        echo "  reproduce: $WORK/pipeline_fuzz $f" >&2
    done
    exit $((rc == 0 ? 1 : rc))
fi
say "no crash in ${SECONDS_TO_RUN}s; corpus grew to $(find "$WORK/corpus" -type f | wc -l) files"

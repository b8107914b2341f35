#!/usr/bin/env bash
# Compiles each public header alone: a translation unit holding only
# `#include <salesfsm/X.h>`, as C11 and (if a C++ compiler exists) as C++.
# Usage: headers_test.sh INCLUDE_DIR     (CC and CXX may name the compilers)
set -euo pipefail

inc=${1:?usage: headers_test.sh INCLUDE_DIR}
cc=${CC:-cc}
cxx=${CXX:-c++}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! command -v "$cxx" >/dev/null 2>&1; then
    echo "headers: no C++ compiler ('$cxx'); skipping the C++ checks"
    cxx=
fi

mapfile -t headers < <(cd "$inc" && find salesfsm -name '*.h' | LC_ALL=C sort)
if ((${#headers[@]} == 0)); then
    echo "headers: no headers found under $inc/salesfsm" >&2
    exit 1
fi

failed=0
checked=0
for h in "${headers[@]}"; do
    printf '#include <%s>\n' "$h" >"$tmp/tu.c"
    cp "$tmp/tu.c" "$tmp/tu.cpp"
    if "$cc" -std=c11 -Wall -Wextra -pedantic -Werror -fsyntax-only -I"$inc" "$tmp/tu.c"; then
        echo "ok   C    $h"
    else
        echo "FAIL C    $h"
        failed=$((failed + 1))
    fi
    checked=$((checked + 1))
    if [[ -n $cxx ]]; then
        if "$cxx" -Wall -Wextra -pedantic -Werror -fsyntax-only -I"$inc" "$tmp/tu.cpp"; then
            echo "ok   C++  $h"
        else
            echo "FAIL C++  $h"
            failed=$((failed + 1))
        fi
        checked=$((checked + 1))
    fi
done

echo "headers: $((checked - failed)) passed, $failed failed"
((failed == 0))

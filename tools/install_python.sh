#!/usr/bin/env bash
# Installs the Python package salesfsm for `python3`, with the freshly built
# shared library inside it, so that `python3 -c "import salesfsm"` works from
# any directory. Called by tools/run.sh after the build; usable alone:
#
#   bash tools/install_python.sh [BUILD_DIR]     (default: build)
#
# As root it installs for everyone, otherwise for the user (--user). With
# pip, setuptools and wheel at hand (Debian: python3-pip, python3-setuptools,
# python3-wheel) it is a normal offline `pip install --no-build-isolation`,
# which pip can uninstall; a python3 without them (a pyenv build, say) gets
# the package copied into its site-packages instead.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-build}
[[ $BUILD == /* ]] || BUILD=$ROOT/$BUILD
LIB=$BUILD/lib/libsalesfsm.so.0
[[ -f $LIB ]] || { echo "install_python.sh: $LIB not built" >&2; exit 1; }

# A staged copy: the source tree stays clean and the library rides along.
STAGE=$BUILD/python-package
rm -rf "$STAGE"
mkdir -p "$STAGE"
cp -r "$ROOT/bindings/python/salesfsm" "$ROOT/bindings/python/pyproject.toml" \
    "$ROOT/bindings/python/README.md" "$STAGE/"
find "$STAGE" -name __pycache__ -prune -exec rm -rf {} +
cp -L "$LIB" "$STAGE/salesfsm/libsalesfsm.so.0"

scope=()
((EUID == 0)) || scope=(--user)

if python3 -c 'import setuptools, wheel, pip' 2>/dev/null; then
    # --break-system-packages: Debian marks its python3 as externally managed;
    # this package has no dependencies and goes to /usr/local (or ~/.local),
    # never into Debian's own directories.
    extra=()
    python3 -m pip install --help 2>/dev/null | grep -q -- --break-system-packages &&
        extra=(--break-system-packages)
    python3 -m pip install --quiet --no-build-isolation --no-index --no-deps \
        --force-reinstall --root-user-action=ignore "${scope[@]}" "${extra[@]}" "$STAGE"
    how="pip install"
else
    if ((EUID == 0)); then
        dest=$(python3 -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
    else
        dest=$(python3 -c 'import site; print(site.getusersitepackages())')
    fi
    mkdir -p "$dest"
    rm -rf "$dest/salesfsm"
    cp -r "$STAGE/salesfsm" "$dest/salesfsm"
    how="copied into $dest (no pip/setuptools/wheel for this python3)"
fi

# Prove it from outside the source tree, with no environment help.
where=$(cd / && env -u SALESFSM_LIBRARY -u PYTHONPATH python3 -c \
    'import salesfsm; print(salesfsm.__file__, salesfsm.library_version())')
echo "python3 -c 'import salesfsm': $where ($how)"

#!/usr/bin/env bash
# cbor2 6.3.0's test suite spins forever in pluggy's _multicall under CPython 3.13.5's
# JIT for some hash seeds, once a few standard-library modules are imported at start-up;
# with PYTHON_JIT=0 it always passes. See docs/findings.md.
#
#   bash examples/jit-hang-pluggy-multicall/reproduce.sh PYTHON [SEEDS]
#
# PYTHON: a JIT build of CPython 3.13 (`apiary python build ... --variant jit`);
# SEEDS: how many PYTHONHASHSEED values to try (default 30). Whether a seed hangs depends
# on incidental state (the venv's path, the modules imported before the tests), so the
# seeds that hang differ between machines and folders: expect a few of 30, never one with
# the JIT off. Needs PyPI; uses `uv` when it is on PATH, else pip.
set -euo pipefail
PYTHON="${1:?usage: reproduce.sh PYTHON [SEEDS]}"
SEEDS="${2:-30}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

"$PYTHON" -m venv "$WORK/venv"
PY="$WORK/venv/bin/python"
PINS=(--only-binary=cbor2 cbor2==6.3.0 pytest==9.2.0 pluggy==1.7.0 hypothesis==6.170.17)
if command -v uv >/dev/null; then
    uv pip install --quiet --python "$PY" "${PINS[@]}"
else
    "$PY" -m pip install --quiet "${PINS[@]}"
fi
# the tests come from the sdist of the same version
"$PY" -m pip download --quiet --no-deps --no-binary=:all: cbor2==6.3.0 -d "$WORK/sdist"
tar -xzf "$WORK"/sdist/cbor2-6.3.0.tar.gz -C "$WORK"
# the trigger: these standard-library modules imported when the interpreter starts
SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
echo "import atexit, contextlib, io, itertools, json, os, sys; from typing import Any" \
    >"$SITE/early_imports.pth"

cd "$WORK/cbor2-6.3.0"
for jit in 1 0; do
    hung=0
    for seed in $(seq 0 $((SEEDS - 1))); do
        status=0
        PYTHON_JIT=$jit PYTHONHASHSEED=$seed timeout 60 "$PY" -m pytest -q -p no:cacheprovider \
            --import-mode=append tests >"$WORK/out.txt" 2>&1 || status=$?
        if [ "$status" -eq 124 ]; then
            hung=$((hung + 1))
            echo "PYTHON_JIT=$jit PYTHONHASHSEED=$seed: still running after 60 s (hang)"
        fi
    done
    echo "PYTHON_JIT=$jit: $hung of $SEEDS seeds hung"
done

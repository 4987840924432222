# Sourced by scripts/demo.sh and scripts/test.sh: creates or refreshes .venv with every
# apiary package (editable) and the dev tools, installing uv and bubblewrap when missing.
# Safe to run any number of times.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

say() { printf '[apiary] %s\n' "$*" >&2; }

PYTHON="${APIARY_PYTHON:-$(command -v python3 || true)}"
if [ -z "$PYTHON" ] || ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    say "python3 >= 3.11 is required (set APIARY_PYTHON to one)"; exit 2
fi

# uv: the one on PATH, else a private copy from PyPI in .tools/uv.
if command -v uv >/dev/null 2>&1; then
    UV="$(command -v uv)"
else
    UV="$ROOT/.tools/uv/bin/uv"
    if [ ! -x "$UV" ]; then
        say "installing uv into .tools/uv"
        "$PYTHON" -m venv "$ROOT/.tools/uv"
        "$ROOT/.tools/uv/bin/python" -m pip install --quiet --disable-pip-version-check "uv>=0.5"
    fi
fi
export UV

# bubblewrap: the sandbox's isolation backend; chromium: the browser the HTML report's test
# opens headless. Installed where this user may use apt.
APT_MISSING=""
command -v bwrap >/dev/null 2>&1 || APT_MISSING="$APT_MISSING bubblewrap"
command -v chromium >/dev/null 2>&1 || APT_MISSING="$APT_MISSING chromium"
# What the tests' real CPython JIT build needs (clang/LLVM for the JIT's stencils, the
# headers of the standard library's C modules) and ccache, which makes rebuilds cheap.
for package in clang-19 llvm-19 lld-19 ccache libffi-dev libssl-dev zlib1g-dev liblzma-dev \
    libbz2-dev libsqlite3-dev; do
    dpkg -s "$package" >/dev/null 2>&1 || APT_MISSING="$APT_MISSING $package"
done
if [ -n "$APT_MISSING" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing$APT_MISSING with apt-get"
        apt-get update -qq >/dev/null 2>&1 || true
        # One package at a time: a browser that cannot be installed never costs the sandbox.
        for package in $APT_MISSING; do
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null 2>&1 \
                || say "could not install $package with apt-get"
        done
    fi
    command -v bwrap >/dev/null 2>&1 || \
        say "bubblewrap is not installed (apt-get install bubblewrap): the sandbox falls back to rlimits only"
    command -v chromium >/dev/null 2>&1 || \
        say "chromium is not installed (apt-get install chromium): the HTML report's browser test is skipped"
fi

export UV_PYTHON_DOWNLOADS=never
"$UV" sync --quiet --locked --python "$PYTHON"

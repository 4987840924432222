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

# bubblewrap: the sandbox's isolation backend. Installed where this user may use apt.
if ! command -v bwrap >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing bubblewrap with apt-get"
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap) \
            >/dev/null 2>&1 || say "could not install bubblewrap: the sandbox falls back to rlimits only"
    else
        say "bubblewrap is not installed (apt-get install bubblewrap): the sandbox falls back to rlimits only"
    fi
fi

export UV_PYTHON_DOWNLOADS=never
"$UV" sync --quiet --locked --python "$PYTHON"

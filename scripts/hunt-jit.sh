#!/usr/bin/env bash
# The hunt of the whole registry on a JIT build of CPython: builds CPython 3.13.5 with the
# JIT from Debian's pristine source tarball (pinned by sha256; built once, kept in the user
# cache), runs every enriched entry from its PyPI sdist against it (scripts/verify-registry.sh)
# and records, with `apiary enrich record --write`, python_versions for each entry that
# reached a verdict. docs/verification.md records what this printed.
#
#   bash scripts/hunt-jit.sh
#
# Environment: APIARY_WORKERS (default 2), APIARY_RESULTS, APIARY_RUN_ID, APIARY_WORK_DIR
# as in verify-registry.sh; APIARY_LLVM: the LLVM major version to build the JIT's
# stencils with when the one CPython pins is not installed (default: the installed one).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

URL="http://deb.debian.org/debian/pool/main/p/python3.13/python3.13_3.13.5.orig.tar.xz"
SHA256="93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/apiary/sources"
TARBALL="$CACHE/cpython-3.13.5-${SHA256:0:12}.tar.xz"

mkdir -p "$CACHE"
if ! echo "$SHA256  $TARBALL" | sha256sum --check --status 2>/dev/null; then
    say "downloading $URL"
    curl --fail --silent --show-error --location --output "$TARBALL.part" "$URL"
    echo "$SHA256  $TARBALL.part" | sha256sum --check --status \
        || { say "$URL: the download does not match its pinned sha256"; exit 2; }
    mv "$TARBALL.part" "$TARBALL"
fi

LLVM="${APIARY_LLVM:-$(ls /usr/bin/clang-[0-9]* 2>/dev/null | sed 's/.*clang-//' | sort -n | tail -1)}"
BUILD=(.venv/bin/apiary python build "$TARBALL" --variant jit)
if [ -n "$LLVM" ]; then BUILD+=(--llvm "$LLVM"); fi
JIT_PYTHON="$("${BUILD[@]}" | awk 'NR==1 {print $2}')"
say "hunting on $JIT_PYTHON"

RESULTS="${APIARY_RESULTS:-$ROOT/apiary-results}"
export APIARY_RESULTS="$RESULTS"
export APIARY_RUN_ID="${APIARY_RUN_ID:-jit-hunt-$(date -u +%Y%m%dT%H%M%SZ)}"
status=0
bash "$ROOT/scripts/verify-registry.sh" "$JIT_PYTHON" || status=$?
if [ -f "$RESULTS/$APIARY_RUN_ID/events.jsonl" ]; then
    .venv/bin/apiary enrich record "$RESULTS/$APIARY_RUN_ID" --write --registry-dir "$ROOT/registry"
fi
exit "$status"

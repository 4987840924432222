#!/usr/bin/env bash
# The verification run of the bundled registry: every enriched entry of registry/, run
# from its PyPI sdist through the real pipeline, then the summary (counts per outcome and
# wall time). docs/verification.md records what this printed.
#
#   bash scripts/verify-registry.sh [PYTHON]      # default: python3 (or $APIARY_VERIFY_PYTHON)
#
# Environment: APIARY_WORKERS (default 2), APIARY_RESULTS (default ./apiary-results),
# APIARY_WORK_DIR (sources and venvs cache; default: the user cache dir).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

TARGET="${1:-${APIARY_VERIFY_PYTHON:-python3}}"
RESULTS="${APIARY_RESULTS:-$ROOT/apiary-results}"
RUN_ID="${APIARY_RUN_ID:-registry-verify-$(date -u +%Y%m%dT%H%M%SZ)}"
WORK=()
if [ -n "${APIARY_WORK_DIR:-}" ]; then WORK=(--work-dir "$APIARY_WORK_DIR"); fi

status=0
.venv/bin/apiary run \
    --registry-dir "$ROOT/registry" --where enriched=true --source sdist \
    --target-python "$TARGET" --workers "${APIARY_WORKERS:-2}" \
    --results-dir "$RESULTS" --run-id "$RUN_ID" "${WORK[@]}" || status=$?
if [ -f "$RESULTS/$RUN_ID/events.jsonl" ]; then
    .venv/bin/apiary report summary "$RESULTS/$RUN_ID"
    .venv/bin/apiary report summary "$RESULTS/$RUN_ID" --format markdown \
        -o "$RESULTS/$RUN_ID/summary.md"
fi
exit "$status"

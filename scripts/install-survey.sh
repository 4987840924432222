#!/usr/bin/env bash
# The install-breakage survey: the registry's compiled projects built from their sdists
# on two interpreters in one run (one condition each), their install failures by kind,
# and the projects whose kind changed between the two (`apiary report compare`).
# docs/verification.md records what this printed.
#
#   bash scripts/install-survey.sh PYTHON_A PYTHON_B [LIST]
#
# LIST: package names, one a line (default: every compiled entry not yet enriched).
# Only the builds count: the tests are replaced by `python -c pass`.
# Environment: APIARY_WORKERS (default 2), APIARY_RESULTS (default ./apiary-results),
# APIARY_WORK_DIR, APIARY_SURVEY_TIMEOUT (seconds per install, default 600).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

A="${1:?first interpreter}"
B="${2:?second interpreter}"
RESULTS="${APIARY_RESULTS:-$ROOT/apiary-results}"
RUN_ID="${APIARY_RUN_ID:-install-survey-$(date -u +%Y%m%dT%H%M%SZ)}"
minor() { "$1" -c 'import sys; print("py%d.%d" % sys.version_info[:2])'; }
NAME_A="$(minor "$A")"
NAME_B="$(minor "$B")"
if [ "$NAME_A" = "$NAME_B" ]; then NAME_A="a-$NAME_A"; NAME_B="b-$NAME_B"; fi
SELECT=(--where has_compiled_code=true --where enriched=false)
if [ -n "${3:-}" ]; then SELECT=(--packages-from "$3"); fi
WORK=()
if [ -n "${APIARY_WORK_DIR:-}" ]; then WORK=(--work-dir "$APIARY_WORK_DIR"); fi

status=0
.venv/bin/apiary run --registry-dir "$ROOT/registry" "${SELECT[@]}" --source sdist \
    --include-unenriched --installer uv --timeout "${APIARY_SURVEY_TIMEOUT:-600}" \
    --test-command-override "python -c pass" \
    --condition "$NAME_A:python=$A" --condition "$NAME_B:python=$B" --retries 0 \
    --workers "${APIARY_WORKERS:-2}" --results-dir "$RESULTS" --run-id "$RUN_ID" \
    "${WORK[@]}" || status=$?
if [ -f "$RESULTS/$RUN_ID/events.jsonl" ]; then
    .venv/bin/apiary report compare "$RESULTS/$RUN_ID" \
        --condition-a "$NAME_A" --condition-b "$NAME_B" --results-dir "$RESULTS" || true
    .venv/bin/apiary report compare "$RESULTS/$RUN_ID" \
        --condition-a "$NAME_A" --condition-b "$NAME_B" --results-dir "$RESULTS" \
        --format markdown -o "$RESULTS/$RUN_ID/compare.md" || true
fi
exit "$status"

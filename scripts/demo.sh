#!/usr/bin/env bash
# The main job on the bundled defaults: `apiary run` over a few real packages of the
# bundled registry (from their PyPI sdists) and the example package whose test suite
# crashes the interpreter, then the summary and where the results and report are.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

DEMO_PACKAGES="${APIARY_DEMO_PACKAGES:-six,iniconfig,toolz}"
RESULTS="${APIARY_RESULTS:-$ROOT/apiary-results}"
RUN_ID="demo-$(date -u +%Y%m%dT%H%M%SZ)"

.venv/bin/apiary doctor || true
status=0
.venv/bin/apiary run \
    --packages "$DEMO_PACKAGES,apiary-crash-example" --force-run \
    --repo-override "apiary-crash-example=$ROOT/examples/crash-example" \
    --results-dir "$RESULTS" --run-id "$RUN_ID" --workers 2 || status=$?
RUN_DIR="$RESULTS/$RUN_ID"
if [ -f "$RUN_DIR/events.jsonl" ]; then
    .venv/bin/apiary report summary "$RUN_DIR"
    .venv/bin/apiary report summary "$RUN_DIR" --format html -o "$RUN_DIR/report.html"
    .venv/bin/apiary report summary "$RUN_DIR" --format markdown -o "$RUN_DIR/summary.md"
    say "results: $RUN_DIR"
    say "report:  $RUN_DIR/report.html (self-contained; open it in a browser)"
fi
exit "$status"

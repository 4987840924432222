#!/usr/bin/env bash
# The auto-enrichment rate: how many packages the documented workflow (resolve,
# `enrich scan --write`, `enrich verify --write`) brings to a working harness (pass or
# fail) with no hand edit. Works in a fresh registry of its own, never in registry/.
# docs/enrichment.md records what this printed.
#
#   bash scripts/enrichment-rate.sh PYTHON [LIST]   # LIST: benchmarks/enrichment/packages.txt
#
# Environment: APIARY_WORKERS (default 2), APIARY_RATE_DIR (default
# ./apiary-results/enrichment-rate-<time>), APIARY_WORK_DIR (sources and venvs cache).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

TARGET="${1:?usage: enrichment-rate.sh PYTHON [LIST]}"
LIST="$(realpath "${2:-$ROOT/benchmarks/enrichment/packages.txt}")"
OUT="${APIARY_RATE_DIR:-$ROOT/apiary-results/enrichment-rate-$(date -u +%Y%m%dT%H%M%SZ)}"
REG="$OUT/registry"
WORK=()
if [ -n "${APIARY_WORK_DIR:-}" ]; then WORK=(--work-dir "$APIARY_WORK_DIR"); fi
mkdir -p "$REG/packages" "$OUT/scan"

.venv/bin/apiary registry resolve --from-file "$LIST" --registry-dir "$REG"
grep -v '^\s*#' "$LIST" | while read -r name; do
    [ -n "$name" ] || continue
    .venv/bin/apiary enrich scan "$name" --write --registry-dir "$REG" "${WORK[@]}" \
        >"$OUT/scan/$name.txt" 2>&1 || echo "scan failed: $name (see $OUT/scan/$name.txt)"
done
status=0
.venv/bin/apiary enrich verify --packages-from "$LIST" --write --registry-dir "$REG" \
    --python "$TARGET" --workers "${APIARY_WORKERS:-2}" --max-attempts 3 \
    --results-dir "$OUT/runs" \
    "${WORK[@]}" | tee "$OUT/verify.txt" || status=$?
echo "registry and runs: $OUT"
exit "$status"

#!/usr/bin/env bash
# The whole test suite: ruff, mypy --strict, and pytest over every package and tests/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

say "ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
say "mypy --strict"
.venv/bin/mypy packages/*/src tools
say "pytest"
.venv/bin/pytest -n 2 --dist loadgroup "$@"

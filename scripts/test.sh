#!/usr/bin/env bash
# The whole test suite: ruff, mypy --strict (sources, tests, benchmarks), and pytest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

say "ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
say "mypy --strict"
.venv/bin/mypy packages/*/src tools/src
# Tests and benchmarks too, one folder at a time (each package's tests has a conftest).
for folder in packages/*/tests tools/tests tests benchmarks; do
    .venv/bin/mypy "$folder"
done
say "pytest"
.venv/bin/pytest -n 2 --dist loadgroup "$@"

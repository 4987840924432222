#!/usr/bin/env bash
# The main job on the bundled defaults.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

.venv/bin/apiary --version

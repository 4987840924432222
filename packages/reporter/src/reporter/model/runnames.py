"""How runs are named on the command line: where they are looked for, and the newest."""

from __future__ import annotations

from pathlib import Path

DEFAULT_RESULTS_DIR = Path("apiary-results")
LATEST = "latest"

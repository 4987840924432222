from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from runner_fixtures import fixture_registry

__all__ = ["fixture_registry"]

"""The layout of a run directory: the one object that knows where each file of a run goes.

::

    <results-dir>/<run-id>/
      run.json                            settings, selection, status (docs/reference/run-json.md)
      events.jsonl                        the events, one JSON object a line
      retry-list.txt                      packages worth running again (written by report compare)
      logs/<package>[/<condition>]/<step>.log
      crashes/<package>[/<condition>]/    a crash's output, record and reproducer

The condition folder is left out for the default condition, so a run with one condition
reads ``logs/<package>/test.log``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from normalized_events.models import DEFAULT_CONDITION

EVENTS_FILE = "events.jsonl"
RUN_JSON = "run.json"
RETRY_LIST = "retry-list.txt"
LOGS = "logs"
CRASHES = "crashes"
# The folders a run keeps per package (a merge copies them from every shard).
PACKAGE_AREAS = (LOGS, CRASHES)


@dataclass(frozen=True)
class RunLayout:
    """Every path of one run directory."""

    root: Path

    @property
    def events(self) -> Path:
        return self.root / EVENTS_FILE

    @property
    def run_json(self) -> Path:
        return self.root / RUN_JSON

    @property
    def retry_list(self) -> Path:
        return self.root / RETRY_LIST

    def log_dir(self, package: str, condition: str = DEFAULT_CONDITION) -> Path:
        return _per_condition(self.root / LOGS / package, condition)

    def step_log(self, package: str, condition: str, step: str) -> Path:
        return self.log_dir(package, condition) / f"{step}.log"

    def crash_dir(self, package: str, condition: str = DEFAULT_CONDITION) -> Path:
        return _per_condition(self.root / CRASHES / package, condition)

    def relative(self, path: Path) -> str:
        """How events name a file of the run: relative to the run directory."""
        return str(path.relative_to(self.root))


def _per_condition(folder: Path, condition: str) -> Path:
    return folder if condition == DEFAULT_CONDITION else folder / condition

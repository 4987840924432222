"""How long each package took in an earlier run, and the order that uses it.

Two things read these durations: shards (``runner_core.shards``: longest first to the
least loaded shard) and the order a run hands its packages to its workers, longest
first, so that no worker starts the longest suite last while the others have nothing
left to do. The durations come from the run directory given (``--balance-from``) or,
for the order alone, from the newest earlier run in the results directory. A package
with no duration recorded counts as the median of those that have one.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from pathlib import Path

from normalized_events import PackageFinished, read_events
from normalized_events.layout import RunLayout

from runner_core.errors import OptionError

Durations = dict[str, float]


def durations_from_run(run_dir: Path) -> Durations:
    """Seconds per package in ``run_dir`` (its conditions and retries summed)."""
    events = RunLayout(run_dir).events
    if not events.is_file():
        raise OptionError(f"--balance-from {run_dir}: no events.jsonl there")
    found: Durations = {}
    for event in read_events(events, types={"package_finished"}).known():
        if isinstance(event, PackageFinished) and _usable(event.duration_s):
            found[event.package] = found.get(event.package, 0.0) + event.duration_s
    return found


def _usable(seconds: float) -> bool:
    return math.isfinite(seconds) and seconds >= 0


def newest_run(results_dir: Path, other_than: str) -> Path | None:
    """The run in ``results_dir`` that started last, other than the run ``other_than``;
    None when there is none (or no results directory)."""
    from reporter.errors import RunDirError
    from reporter.model.load import find_runs

    try:
        runs = [run for run in find_runs(results_dir) if run.path.name != other_than]
    except (RunDirError, OSError):
        return None
    return runs[-1].path if runs else None


def expected(names: Iterable[str], durations: Durations) -> Durations:
    """Each name's recorded seconds, or the median of the recorded ones (1 s if none)."""
    known = [seconds for seconds in durations.values() if seconds > 0]
    default = statistics.median(known) if known else 1.0
    return {name: durations.get(name, default) for name in names}


def longest_first(names: list[str], durations: Durations) -> list[str]:
    """``names`` by expected duration, longest first; equal ones keep their order."""
    seconds = expected(names, durations)
    return sorted(names, key=lambda name: -seconds[name])

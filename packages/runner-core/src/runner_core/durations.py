"""How long each package took in an earlier run, and the order that uses it.

Two things read these durations: shards (``runner_core.shards``: longest first to the
least loaded shard) and the order a run hands its packages to its workers, longest
first, so that no worker starts the longest suite last while the others have nothing
left to do. The durations come from the run directory given (``--balance-from``) or,
for the order alone, from the newest earlier run in the results directory that has any
for the packages selected. A package with no duration recorded counts as the median of
those that have one.
"""

from __future__ import annotations

import math
import os
import stat
import statistics
from collections.abc import Iterable
from pathlib import Path

from normalized_events import PackageFinished, read_events
from normalized_events.layout import EVENTS_FILE, RunLayout

from runner_core.errors import OptionError

Durations = dict[str, float]
# An earlier run's log is read unasked, to order a run, only up to this size.
MAX_EVENTS_BYTES = 256 << 20


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


def recent_runs(results_dir: Path, other_than: str, most: int = 3) -> list[Path]:
    """Up to ``most`` run directories of ``results_dir`` whose event logs were written last,
    newest first, other than the run ``other_than``.

    Read unasked at the start of a run, so only what cannot cost much counts: a folder
    (not a link) holding a regular log (not a link, FIFO or device) of a sane size.
    """
    found: list[tuple[int, str]] = []
    try:
        entries = list(os.scandir(results_dir))
    except OSError:
        return []
    for entry in entries:
        if entry.name == other_than or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            info = os.lstat(Path(entry.path) / EVENTS_FILE)
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode) and info.st_size <= MAX_EVENTS_BYTES:
            found.append((info.st_mtime_ns, entry.name))
    return [results_dir / name for _, name in sorted(found, reverse=True)[:most]]


def expected(names: Iterable[str], durations: Durations) -> Durations:
    """Each name's recorded seconds, or the median of the recorded ones (1 s if none)."""
    known = [seconds for seconds in durations.values() if seconds > 0]
    default = statistics.median(known) if known else 1.0
    return {name: durations.get(name, default) for name in names}


def longest_first(names: list[str], durations: Durations) -> list[str]:
    """``names`` by expected duration, longest first; equal ones keep their order."""
    seconds = expected(names, durations)
    return sorted(names, key=lambda name: -seconds[name])

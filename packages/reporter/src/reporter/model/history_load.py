"""Reading many runs for a history: only ``run_started`` and the few fields of each
``package_finished`` that a history shows.

A history of 20 runs x 5,000 packages reads 100,000 results; validating each as a full
``PackageFinished`` (installed distributions, durations, crash frames...) is most of the
cost, so a history picks the lines of those two types (``normalized_events.lines_of``) and
validates a narrow model of the contract's (``normalized_events.narrow_model``): the same
results as the full reader, which keeps the package_finished events that validate (the
last one of a package and condition), at a fraction of the cost.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from normalized_events import (
    PackageFinished,
    RunStarted,
    collector_paused,
    lines_of,
    narrow_model,
    validated,
)

from reporter.model.history import History, RunRows, history_of, row_of
from reporter.model.load import events_path, load_run

# The fields of package_finished a row reads (``row_of``), with seq to keep the last; typed
# Any since the model is made at run time (its fields have the contract's types).
_RESULT: type[Any] = narrow_model(
    PackageFinished,
    (
        "seq",
        "package",
        "condition",
        "outcome",
        "crash.bucket",
        "crash.signature",
        "crash.reproducible",
        "source_revision",
        "package_version",
        "duration_s",
        "attempt_outcomes",
        "races.bucket",
        "races.signature",
    ),
)


def _quick(path: Path) -> RunRows | None:
    """A run's rows read the narrow way, or None when the full reader must decide."""
    data = path.read_bytes()
    starts = validated(RunStarted, lines_of(data, ("run_started",), numbered=False))
    if not starts:
        return None  # the run's time then comes from its first event: the full reader's job
    kept: dict[tuple[str, str], Any] = {}
    for result in validated(_RESULT, lines_of(data, ("package_finished",), numbered=False)):
        key = (result.package, result.condition)
        previous = kept.get(key)
        if previous is None or previous.seq <= result.seq:
            kept[key] = result
    rows = [row_of(result) for result in kept.values()]
    return RunRows(
        run_id=starts[0].run_id,
        started_at=starts[0].ts,
        interpreter=starts[-1].interpreter,
        conditions=starts[0].options.conditions,
        rows=rows,
    )


def read_rows(run_dir: str | os.PathLike[str]) -> RunRows:
    """What a history needs of one run directory."""
    path = events_path(run_dir)
    with collector_paused():
        try:
            quick = _quick(path)
        except OSError:
            quick = None  # the full reader says what is wrong with the file
        return quick if quick is not None else RunRows.of(load_run(run_dir))


_PARALLEL_FROM = 4  # runs: below this, starting reader processes costs more than it saves


def _read_all(run_dirs: Sequence[str | os.PathLike[str]]) -> list[RunRows]:
    """Each run's rows; runs are read in parallel processes when there are enough of them
    (reading is CPU-bound JSON work, one run independent of another)."""
    workers = min(os.cpu_count() or 1, len(run_dirs))
    if workers < 2 or len(run_dirs) < _PARALLEL_FROM or "fork" not in mp.get_all_start_methods():
        return [read_rows(run_dir) for run_dir in run_dirs]
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as pool:
        return list(pool.map(read_rows, [os.fspath(d) for d in run_dirs]))


def load_history(run_dirs: Sequence[str | os.PathLike[str]]) -> History:
    """The history of run directories (the same as ``build_history`` of their
    ``load_run``, read faster)."""
    with collector_paused():  # one pause for all runs, not a collection after each
        return history_of(_read_all(run_dirs))

"""Reading many runs for a history: only ``run_started`` and the few fields of each
``package_finished`` that a history shows.

A history of 20 runs x 5,000 packages reads 100,000 results; validating each as a full
``PackageFinished`` (installed distributions, durations, crash frames...) is most of the
cost, so a history finds the lines that mention those two types (whatever their spacing)
and validates a narrow model of each: the same results as the full reader, which keeps the
package_finished events that validate (the last one of a package and condition), at a
fraction of the cost.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Literal, TypeVar

from normalized_events import DEFAULT_CONDITION, Outcome, RunStarted
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reporter.model.bulk import collector_paused
from reporter.model.history import History, RunRows, history_of, row_of
from reporter.model.load import events_path, load_run

_Model = TypeVar("_Model", bound=BaseModel)


class _Crash(BaseModel):
    model_config = ConfigDict(extra="ignore")
    bucket: str = ""
    signature: str = ""
    reproducible: bool | None = None


class _Race(BaseModel):
    model_config = ConfigDict(extra="ignore")
    bucket: str
    signature: str = ""


class _Result(BaseModel):
    """The fields of ``package_finished`` a history reads (the contract's names and types)."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["package_finished"]
    seq: int = 0
    package: str
    condition: str = DEFAULT_CONDITION
    outcome: Outcome
    crash: _Crash | None = None
    source_revision: str | None = None
    package_version: str | None = None
    duration_s: float = 0.0
    attempt_outcomes: list[Outcome] = Field(default_factory=list)
    races: list[_Race] = Field(default_factory=list)


def _lines_with(data: bytes, word: bytes) -> list[bytes]:
    """Every line that mentions ``word`` (each once)."""
    found = []
    at = data.find(word)
    while at >= 0:
        start = data.rfind(b"\n", 0, at) + 1
        end = data.find(b"\n", at)
        if end < 0:
            break  # a torn last line is not a result
        found.append(data[start:end])
        at = data.find(word, end)
    return found


def _valid(model: type[_Model], lines: list[bytes]) -> list[_Model]:
    """The lines that are events of the model's type; the others (a line that only
    mentions the type, a torn or invalid line) are not results, as for the full reader."""
    kept = []
    for line in lines:
        try:
            kept.append(model.model_validate_json(line))
        except ValidationError:
            continue
    return kept


def _quick(path: Path) -> RunRows | None:
    """A run's rows read the narrow way, or None when the full reader must decide."""
    data = path.read_bytes()
    starts = _valid(RunStarted, _lines_with(data, b"run_started"))
    if not starts:
        return None  # the run's time then comes from its first event: the full reader's job
    kept: dict[tuple[str, str], _Result] = {}
    for result in _valid(_Result, _lines_with(data, b"package_finished")):
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

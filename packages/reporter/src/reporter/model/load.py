"""Reading run directories: one run's events, the runs of a results directory, ``latest``.

The reader is as forgiving as ``normalized_events.read_events`` (a torn last line is noted,
a corrupt line is reported by number and reading goes on) but much faster on large runs:
the many ``package_started`` / ``step_finished`` lines are only told apart by their type
(``normalized_events.line_type``); they are read again from the file, filed by package and
validated when a report first needs them.
"""

from __future__ import annotations

import json
import os
import re
from array import array
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from normalized_events import (
    LineProblem,
    RunStarted,
    collector_paused,
    line_type,
    log_lines,
    read_line,
)
from normalized_events.layout import EVENTS_FILE

from reporter.errors import RunDirError
from reporter.model.rundata import RunBuilder, RunData
from reporter.model.runnames import DEFAULT_RESULTS_DIR, LATEST

# The types whose lines wait until something asks for them.
_WAITING = frozenset({"step_finished", "package_started"})
_TS = re.compile(rb'"ts"\s*:\s*"([^"]+)"')
# How much of a log is looked at to find when its run started.
_MAX_EVENT_LINE = 16 << 20  # run_started lists every selected package
_MAX_LOOKED = 64 << 20


def events_path(run_dir: str | os.PathLike[str]) -> Path:
    """The ``events.jsonl`` of a run directory (or the file itself when given)."""
    path = Path(run_dir)
    if path.is_file():
        return path
    candidate = path / EVENTS_FILE
    if candidate.is_file():
        return candidate
    if not path.exists():
        raise RunDirError(f"{path}: no such run directory")
    raise RunDirError(f"{path}: not an apiary run directory (no {EVENTS_FILE})")


def _raw_time(raw: bytes | None) -> datetime | None:
    found = _TS.search(raw) if raw else None
    if found is None:
        return None
    try:
        ts = datetime.fromisoformat(found.group(1).decode())
    except ValueError:
        return None
    return ts if ts.tzinfo is not None else None


def load_run(run_dir: str | os.PathLike[str]) -> RunData:
    """Read one run directory's events into a :class:`RunData`.

    Raises :class:`RunDirError` when there is no event log to read; never on content.
    """
    path = events_path(run_dir)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RunDirError(f"{path}: cannot read: {exc.strerror}") from exc
    with collector_paused():
        return _read(path, data)


def _read(path: Path, data: bytes) -> RunData:
    builder = RunBuilder(path=path.parent)
    lines, torn = log_lines(data)
    starts, waiting = _read_now(builder, lines)

    def read_waiting() -> list[tuple[int, bytes]]:
        # Read again from the file rather than holding every run's lines in memory (a
        # history holds many runs and asks for none of these); only their numbers are kept.
        try:
            again = log_lines(path.read_bytes()).lines
        except OSError:
            return []
        return [(n, again[n - 1]) for n in waiting if n <= len(again)]

    builder.package_events.wait_for(read_waiting)
    # A torn last line (its writer stopped mid-write) is never a result, even when it
    # parses: the contract's reader and a resumed run treat it the same way.
    builder.torn_tail = torn is not None and bool(torn.strip())
    _session_ends(builder, lines, starts)
    _first_time(builder, lines)
    return builder.build()


def _read_now(builder: RunBuilder, lines: list[bytes]) -> tuple[list[int], array[int]]:
    """Add the lines read now (all but package_started and step_finished, which wait
    until something asks for them: a history of many runs never does) to the run; the
    line numbers of its run_started events, and of the lines that wait."""
    starts: list[int] = []
    waiting = array("l")
    for number, raw in enumerate(lines, start=1):
        if not raw or raw.isspace():
            continue
        kind = line_type(raw)
        if kind in _WAITING:
            waiting.append(number)
            continue
        read = read_line(number, raw, kind)
        if isinstance(read, LineProblem):
            builder.problems.append(read)
            continue
        if isinstance(read, RunStarted):
            starts.append(number)
        builder.add(read)
    return starts, waiting


def _session_ends(builder: RunBuilder, lines: list[bytes], starts: list[int]) -> None:
    """A session (from one run_started to the next) may end with lines still waiting
    (a package killed mid-step): their time counts towards its end."""
    for index, boundary in enumerate([*starts[1:], len(lines) + 1]):
        number = boundary - 1
        while number > 0 and not lines[number - 1].strip():
            number -= 1
        if number <= 0:
            continue
        raw = lines[number - 1]
        if line_type(raw) in _WAITING:
            ts = _raw_time(raw)
            if ts is not None:
                builder.saw_time(ts, session=index)


def _first_time(builder: RunBuilder, lines: list[bytes]) -> None:
    """A log without run_started starts with its first event, which may be waiting."""
    first = next((raw for raw in lines if raw.strip()), None)
    if first is not None and line_type(first) in _WAITING:
        ts = _raw_time(first)
        if ts is not None:
            builder.saw_time(ts)


@dataclass(frozen=True)
class RunRef:
    """A run directory found in a results directory, with when it started."""

    path: Path
    run_id: str
    started_at: datetime


def _first_start(events: Path) -> tuple[str, datetime] | None:
    """run_id and ts of the first run_started (or, failing that, the first event)."""
    fallback: tuple[str, datetime] | None = None
    looked = 0
    try:
        with events.open("rb") as handle:
            for _ in range(10_000):
                # Lines are read in pieces of at most _MAX_EVENT_LINE bytes, and no more
                # than _MAX_LOOKED bytes in all: a log with no line break is no reason to
                # hold gigabytes.
                raw = handle.readline(_MAX_EVENT_LINE)
                looked += len(raw)
                if not raw or looked > _MAX_LOOKED:
                    break
                try:
                    decoded = json.loads(raw)
                    ts = datetime.fromisoformat(str(decoded["ts"]))
                    run_id = str(decoded["run_id"])
                except (ValueError, KeyError, TypeError, RecursionError):
                    continue
                if ts.tzinfo is None:
                    continue
                if decoded.get("type") == "run_started":
                    return run_id, ts
                if fallback is None:
                    fallback = (run_id, ts)
    except OSError:
        return None
    return fallback


def find_runs(results_dir: str | os.PathLike[str] = DEFAULT_RESULTS_DIR) -> list[RunRef]:
    """Every run directory directly under ``results_dir``, oldest first (by run_started)."""
    root = Path(results_dir)
    if not root.is_dir():
        raise RunDirError(f"{root}: no such results directory")
    found: list[RunRef] = []
    for child in root.iterdir():
        events = child / EVENTS_FILE
        if not events.is_file():
            continue
        start = _first_start(events)
        if start is not None:
            found.append(RunRef(path=child, run_id=start[0], started_at=start[1]))
    found.sort(key=lambda ref: (ref.started_at, ref.run_id))
    return found


def resolve_run(spec: str, results_dir: str | os.PathLike[str] = DEFAULT_RESULTS_DIR) -> Path:
    """A run directory from what a user typed: a path, a run id in ``results_dir``, or
    ``latest`` (the run of ``results_dir`` that started last)."""
    if spec == LATEST:
        runs = find_runs(results_dir)
        if not runs:
            raise RunDirError(f"{results_dir}: no runs found (no */{EVENTS_FILE})")
        return runs[-1].path
    path = Path(spec)
    if path.exists():
        return path
    candidate = Path(results_dir) / spec
    if (candidate / EVENTS_FILE).is_file():
        return candidate
    raise RunDirError(f"{spec}: no such run directory (nor a run id in {results_dir})")


def order_run_dirs(paths: list[Path]) -> list[Path]:
    """Run directories oldest first, by their first run_started (unknown times last)."""
    never = datetime.max.replace(tzinfo=UTC)

    def started(path: Path) -> datetime:
        try:
            found = _first_start(events_path(path))
        except RunDirError:
            return never
        return found[1] if found else never

    return sorted(paths, key=started)


def last_runs(
    n: int | None, results_dir: str | os.PathLike[str] = DEFAULT_RESULTS_DIR
) -> list[Path]:
    """The last ``n`` runs of a results directory (all when ``n`` is None), oldest first."""
    runs = find_runs(results_dir)
    if n is not None:
        runs = runs[-n:] if n > 0 else []
    return [ref.path for ref in runs]

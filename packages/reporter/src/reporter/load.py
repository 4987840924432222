"""Reading run directories: one run's events, the runs of a results directory, ``latest``.

The reader is as forgiving as ``normalized_events.read_events`` (a torn last line is noted,
a corrupt line is reported by number and reading goes on) but much faster on large runs:
``package_finished`` lines are validated straight from their bytes, and the many
``package_started`` / ``step_finished`` lines are filed by package unparsed, to be
validated when a report first needs them.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from normalized_events import LineProblem, PackageFinished, parse_event
from pydantic import ValidationError

from reporter.bulk import collector_paused
from reporter.errors import RunDirError
from reporter.rundata import RunBuilder, RunData, describe_validation

EVENTS_FILE = "events.jsonl"
DEFAULT_RESULTS_DIR = Path("apiary-results")
LATEST = "latest"

_TYPE = b'"type":"'
_DEFERRED = (b'step_finished"', b'package_started"')
_FINISHED = b'package_finished"'
_STARTED = b'run_started"'
_TS = re.compile(rb'"ts":"([^"]+)"')


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
        return _read(path.parent, data)


def _read(root: Path, data: bytes) -> RunData:
    builder = RunBuilder(path=root)
    lines = data.split(b"\n")
    complete = data.endswith(b"\n") or not data
    last = len(lines)
    # The last line kept raw since the last run_started: its time may end that session.
    kept: bytes | None = None
    for number, raw in enumerate(lines, start=1):
        if not raw or raw.isspace():
            continue
        may_be_torn = number == last and not complete
        # Writers dump the common fields (all scalars) before "type", so the first "type"
        # key of a line is the event's own; anything unusual takes the exact path below.
        at = raw.find(_TYPE)
        kind = raw[at + 8 : at + 26] if at >= 0 else b""
        if not may_be_torn:
            if kind.startswith(_DEFERRED):
                builder.add_raw(number, raw)
                kept = raw
                continue
            if kind.startswith(_FINISHED):
                try:
                    builder.add(PackageFinished.model_validate_json(raw))
                    continue
                except ValidationError:
                    pass  # the exact path below names the problem
            elif kind.startswith(_STARTED) and kept is not None:
                _close_session(builder, kept)
                kept = None
        try:
            decoded = json.loads(raw)
            if not isinstance(decoded, dict):
                raise ValueError("not a JSON object")
            builder.add(parse_event(decoded))
        except ValidationError as exc:
            builder.problems.append(LineProblem(number, describe_validation(exc)))
        except ValueError as exc:
            if may_be_torn:
                builder.torn_tail = True
            else:
                builder.problems.append(LineProblem(number, f"not valid JSON ({exc})"))
    if kept is not None:
        _close_session(builder, kept)
    return builder.build()


def _close_session(builder: RunBuilder, raw: bytes) -> None:
    ts = _raw_time(raw)
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
    try:
        with events.open("rb") as handle:
            for number, raw in enumerate(handle):
                if number > 10_000:
                    break
                try:
                    decoded = json.loads(raw)
                    ts = datetime.fromisoformat(str(decoded["ts"]))
                    run_id = str(decoded["run_id"])
                except (ValueError, KeyError, TypeError):
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


def last_runs(
    n: int | None, results_dir: str | os.PathLike[str] = DEFAULT_RESULTS_DIR
) -> list[Path]:
    """The last ``n`` runs of a results directory (all when ``n`` is None), oldest first."""
    runs = find_runs(results_dir)
    if n is not None:
        runs = runs[-n:] if n > 0 else []
    return [ref.path for ref in runs]

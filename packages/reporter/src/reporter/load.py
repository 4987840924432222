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

from reporter.errors import RunDirError
from reporter.rundata import RunBuilder, RunData, describe_validation

EVENTS_FILE = "events.jsonl"
DEFAULT_RESULTS_DIR = Path("apiary-results")
LATEST = "latest"

_TYPE = b'"type":"'
_DEFERRED = (b'step_finished"', b'package_started"')
_FINISHED = b'package_finished"'
_PACKAGE = re.compile(rb'"package":"((?:[^"\\]|\\.)*)"')
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


def _top_level_type(raw: bytes) -> bytes:
    # Writers dump the common fields (all scalars) before "type", so the first "type" key
    # of a compact line is the event's own; anything else goes the slow, exact way.
    at = raw.find(_TYPE)
    return raw[at + len(_TYPE) : at + len(_TYPE) + 18] if at >= 0 else b""


def _defer_key(raw: bytes) -> tuple[str, datetime | None] | None:
    """(package, ts) of a line that can wait to be validated, or None."""
    kind = _top_level_type(raw)
    if not kind.startswith(_DEFERRED):
        return None
    found = _PACKAGE.search(raw)
    if found is None:
        return None
    try:
        package = json.loads(b'"' + found.group(1) + b'"')
        stamp = _TS.search(raw)
        ts = datetime.fromisoformat(stamp.group(1).decode()) if stamp else None
    except ValueError:
        return None
    if ts is not None and ts.tzinfo is None:
        return None
    return package, ts


def load_run(run_dir: str | os.PathLike[str]) -> RunData:
    """Read one run directory's events into a :class:`RunData`.

    Raises :class:`RunDirError` when there is no event log to read; never on content.
    """
    path = events_path(run_dir)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RunDirError(f"{path}: cannot read: {exc.strerror}") from exc
    root = path.parent
    builder = RunBuilder(path=root)
    lines = data.split(b"\n")
    complete = data.endswith(b"\n") or not data
    last = len(lines)
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        may_be_torn = number == last and not complete
        if not may_be_torn:
            deferred = _defer_key(raw)
            if deferred is not None:
                builder.add_raw(deferred[0], number, raw, deferred[1])
                continue
            if _top_level_type(raw).startswith(_FINISHED):
                try:
                    builder.add(PackageFinished.model_validate_json(raw))
                    continue
                except ValidationError:
                    pass  # the exact path below names the problem
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
    return builder.build()


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

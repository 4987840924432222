"""Append-only JSONL event log: a writer safe for several processes, a forgiving reader."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from pydantic import ValidationError

from normalized_events.bulk import collector_paused
from normalized_events.models import (
    EVENT_TYPES,
    AnyEvent,
    BisectFinished,
    BisectStarted,
    BisectStep,
    Event,
    EventBase,
    PackageFinished,
    RunFinished,
    RunStarted,
    UnknownEvent,
)
from normalized_events.narrow import line_type, lines_of, log_lines, torn_line

# Events after which the file is fsynced: what a resumed run relies on.
# A bisection's steps too: a resumed bisection never tests a decided commit again.
_DURABLE = (
    RunStarted,
    PackageFinished,
    RunFinished,
    BisectStarted,
    BisectStep,
    BisectFinished,
)
_TAIL_CHUNK = 64 * 1024


class EventLogError(Exception):
    """An event log cannot be opened or written."""


@dataclass(frozen=True)
class LineProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class ReadResult:
    events: list[AnyEvent] = field(default_factory=list)
    problems: list[LineProblem] = field(default_factory=list)
    torn_tail: bool = False

    def known(self) -> list[Event]:
        return [e for e in self.events if not isinstance(e, UnknownEvent)]


def parse_event(data: dict[str, Any]) -> AnyEvent:
    """Build the model for one decoded event; unknown types are kept as they are."""
    kind = data.get("type")
    model = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if model is None:
        return UnknownEvent(type=str(kind), raw=data)
    return model.model_validate(data)  # type: ignore[return-value]


def describe_error(error: ValidationError) -> str:
    """A validation error as a line's problem: where in the event, and what."""
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "event"
    return f"{where}: {first['msg']}"


def decode_line(raw: bytes, kind: str | None = None) -> AnyEvent:
    """One line's event; ValueError (not JSON, not an object, nested too deeply) or
    ValidationError (not a valid event) otherwise.

    With the line's ``kind`` known (``line_type``), the line is validated straight from
    its bytes as that type's model, the fast way; a line that fails so is decoded again
    the exact way, whose error names the problem.
    """
    model = EVENT_TYPES.get(kind) if kind is not None else None
    if model is not None:
        try:
            return model.model_validate_json(raw)  # type: ignore[return-value]
        except ValidationError:
            pass
    try:
        decoded = json.loads(raw)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if not isinstance(decoded, dict):
        raise ValueError("not a JSON object")
    try:
        return parse_event(decoded)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def read_line(number: int, raw: bytes, kind: str | None = None) -> AnyEvent | LineProblem:
    """Line ``number``'s event, or the problem that says what is wrong with it."""
    try:
        return decode_line(raw, kind)
    except ValidationError as exc:
        return LineProblem(number, describe_error(exc))
    except ValueError as exc:
        return LineProblem(number, f"not valid JSON ({exc})")


def read_events(path: str | os.PathLike[str], types: Collection[str] | None = None) -> ReadResult:
    """Read every event of a log (of ``types`` only, when given: other lines are not
    decoded, nor their problems reported). Never raises on content, only on a missing
    file.

    A last line without its newline is torn (its writer was stopped mid-write): it is
    reported as ``torn_tail`` and never taken as an event, even when it happens to parse,
    so a resumed run redoes that package rather than trusting half a write.
    """
    data = Path(path).read_bytes()
    with collector_paused():
        return _read(data, types)


def _read(data: bytes, types: Collection[str] | None) -> ReadResult:
    result = ReadResult()
    if types is None:
        lines, torn = log_lines(data)
        numbered: Iterable[tuple[int, bytes]] = enumerate(lines, start=1)
    else:
        numbered, torn = lines_of(data, types), torn_line(data)
    result.torn_tail = torn is not None and bool(torn.strip())
    for number, raw in numbered:
        if not raw.strip():
            continue
        read = read_line(number, raw, line_type(raw))
        if isinstance(read, LineProblem):
            result.problems.append(read)
        else:
            result.events.append(read)
    return result


def _last_seq(fd: int, size: int) -> int:
    """The seq of the last complete event in the file, or -1."""
    start = max(0, size - _TAIL_CHUNK)
    while True:
        chunk = os.pread(fd, size - start, start)
        for raw in reversed(chunk.split(b"\n")):
            if not raw.strip():
                continue
            try:
                value = json.loads(raw).get("seq")
            except (ValueError, AttributeError, RecursionError):
                continue
            if isinstance(value, int):
                return value
        if start == 0:
            return -1
        start = max(0, start - _TAIL_CHUNK)


class EventWriter:
    """Appends events to a JSONL file, one line each, assigning ``seq``.

    Several processes may hold a writer on the same file: each append takes an exclusive
    ``flock``, reads the last ``seq`` when another process wrote since, sets a torn last
    line left by a writer that was stopped mid-write aside (appended to
    ``<log>.torn``, so no byte of a result is ever lost) before the log goes on, and
    writes the line with one ``write`` call.
    """

    def __init__(self, path: str | os.PathLike[str], run_id: str) -> None:
        self.path = Path(path)
        self.run_id = run_id
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise EventLogError(f"{self.path}: cannot open event log: {exc.strerror}") from exc
        self._known_size = -1
        self._seq = -1

    @contextmanager
    def _locked(self) -> Iterator[int]:
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            size = os.fstat(self._fd).st_size
            if size and os.pread(self._fd, 1, size - 1) != b"\n":
                keep = _complete_prefix(self._fd, size)
                _set_aside(self.path, os.pread(self._fd, size - keep, keep))
                os.ftruncate(self._fd, keep)
                size = keep
            if size != self._known_size:
                self._seq = _last_seq(self._fd, size)
            yield size
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _write_whole(self, line: bytes) -> None:
        """Write all of `line` or none of it: a full disk (ENOSPC) leaves no torn line."""
        before = os.fstat(self._fd).st_size
        rest = memoryview(line)
        try:
            while rest:
                rest = rest[os.write(self._fd, rest) :]
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, before)
            raise

    def emit(self, event: Event) -> Event:
        """Write one event and return it as written (with its ``seq``)."""
        if self._fd < 0:
            raise EventLogError(f"{self.path}: event log is closed")
        with self._locked():
            stamped = event.model_copy(update={"seq": self._seq + 1, "run_id": self.run_id})
            line = stamped.model_dump_json(exclude_none=False).encode() + b"\n"
            self._write_whole(line)
            if isinstance(stamped, _DURABLE):
                os.fsync(self._fd)
            self._seq += 1
            self._known_size = os.fstat(self._fd).st_size
        return stamped

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def torn_path(path: str | os.PathLike[str]) -> Path:
    """Where a log's torn last lines are kept: ``events.jsonl.torn``."""
    log = Path(path)
    return log.with_name(log.name + ".torn")


def _set_aside(path: Path, torn: bytes) -> None:
    """Keep a torn line's bytes (one line each) before the log drops it."""
    if not torn.strip():
        return
    fd = os.open(torn_path(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, torn.replace(b"\n", b" ") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)


def _complete_prefix(fd: int, size: int) -> int:
    """Length of the file up to and including its last newline."""
    start = size
    while start > 0:
        begin = max(0, start - _TAIL_CHUNK)
        chunk = os.pread(fd, start - begin, begin)
        cut = chunk.rfind(b"\n")
        if cut >= 0:
            return begin + cut + 1
        start = begin
    return 0


__all__ = [
    "EventBase",
    "EventLogError",
    "EventWriter",
    "LineProblem",
    "ReadResult",
    "decode_line",
    "describe_error",
    "parse_event",
    "read_events",
    "read_line",
    "torn_path",
]

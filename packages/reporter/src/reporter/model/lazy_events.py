"""``package_started`` and ``step_finished`` events of a run, read only when asked for.

A run directory's ``events.jsonl`` can hold hundreds of thousands of lines, most of them
``step_finished``; reports over many runs never look at them, a summary at a few.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from normalized_events import (
    DEFAULT_CONDITION,
    LineProblem,
    PackageFinished,
    PackageStarted,
    StepFinished,
    line_type,
    read_line,
)

Key = tuple[str, str]
"""(package, condition): the unit every report counts."""

PackageEvent = PackageStarted | StepFinished


def key_of(event: PackageFinished | PackageStarted | StepFinished) -> Key:
    return (event.package, event.condition)


_PACKAGE = re.compile(rb'"package"\s*:\s*"((?:[^"\\]|\\.)*)"')
_STARTED = b'"package_started"'
_CONDITION = re.compile(rb'"condition"\s*:\s*"((?:[^"\\]|\\.)*)"')


def _json_string(raw: bytes) -> str:
    """The text of a JSON string's inside, decoding escapes only when there are any."""
    return json.loads(b'"' + raw + b'"') if b"\\" in raw else raw.decode()


@dataclass
class PackageEvents:
    """``package_started`` and ``step_finished`` events by package, parsed on demand.

    Raw lines come from a source (the loader reads them again from the file) the first
    time any is needed; they are then filed by the package (and condition) their text
    names, and a package's lines are validated the first time its events are asked for.
    """

    problems: list[LineProblem]
    _pending: list[tuple[int, bytes]] = field(default_factory=list)
    _raw: dict[str, list[tuple[int, bytes]]] = field(default_factory=lambda: defaultdict(list))
    _parsed: dict[str, list[PackageEvent]] = field(default_factory=lambda: defaultdict(list))
    _started: dict[Key, None] = field(default_factory=dict)
    _source: Callable[[], list[tuple[int, bytes]]] | None = None

    def add_raw(self, line: int, raw: bytes) -> None:
        self._pending.append((line, raw))

    def wait_for(self, source: Callable[[], list[tuple[int, bytes]]]) -> None:
        """Lines to take (all at once, the first time any is needed) from ``source``."""
        self._source = source

    def add(self, event: PackageEvent) -> None:
        self._parsed[event.package].append(event)
        if isinstance(event, PackageStarted):
            self._started[key_of(event)] = None

    def _file(self) -> None:
        if self._source is not None:
            self._pending.extend(self._source())
            self._source = None
        pending, self._pending = self._pending, []
        for line, raw in pending:
            found = _PACKAGE.search(raw)
            if found is None:
                self._raw[""].append((line, raw))  # no package in sight: parse to learn more
                continue
            try:
                package = _json_string(found.group(1))
                if _STARTED in raw and line_type(raw) == "package_started":
                    condition = _CONDITION.search(raw)
                    name = _json_string(condition.group(1)) if condition else DEFAULT_CONDITION
                    self._started[(package, name)] = None
            except ValueError:
                package = ""
            self._raw[package].append((line, raw))
        if "" in self._raw:
            self._parse("")

    def _parse(self, package: str) -> None:
        for line, raw in self._raw.pop(package, ()):
            event = read_line(line, raw, line_type(raw))
            if isinstance(event, LineProblem):
                self.problems.append(event)
            elif isinstance(event, PackageStarted | StepFinished):
                # The raw line was filed under the package its text named; trust the model.
                self._parsed[event.package].append(event)
                if isinstance(event, PackageStarted) and package == "":
                    self._started[key_of(event)] = None
            else:
                self.problems.append(LineProblem(line, f"unexpected {event.type} event"))
        if package in self._parsed:
            self._parsed[package].sort(key=lambda e: e.seq)

    def of(self, package: str) -> list[PackageEvent]:
        if self._pending or self._source is not None:
            self._file()
        if package in self._raw:
            self._parse(package)
        return self._parsed.get(package, [])

    def started_keys(self) -> list[Key]:
        """(package, condition) of every ``package_started``, without validating them."""
        if self._pending or self._source is not None:
            self._file()
        return list(self._started)

    def everything(self) -> dict[str, list[PackageEvent]]:
        if self._pending or self._source is not None:
            self._file()
        for package in list(self._raw):
            self._parse(package)
        return self._parsed

"""One run as the reporter sees it: its events, indexed by (package, condition).

``package_started`` and ``step_finished`` events are read when first asked for
(:meth:`RunData.steps`, :meth:`RunData.validate`; see ``lazy_events``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from normalized_events import (
    DEFAULT_CONDITION,
    AnyEvent,
    InterpreterInfo,
    LineProblem,
    Outcome,
    PackageFinished,
    PackageStarted,
    RunFinished,
    RunOptions,
    RunStarted,
    StepFinished,
    UnknownEvent,
)
from normalized_events.files import read_tail

from reporter.model.lazy_events import (
    Key,
    PackageEvent,
    PackageEvents,
    key_of,
)

# The selected package names may also come as an extra field of the options
# (``options.selection``) besides ``run_started.selected``; and the extra field of
# ``run_started`` in which a merged run keeps the record of its shards.
SELECTION_FIELD = "selection"
MERGE_FIELD = "merge"


@dataclass
class RunData:
    """Everything the reporter knows about one run, read from its events only."""

    run_id: str
    path: Path | None
    starts: list[RunStarted]
    finish: RunFinished | None
    results: dict[Key, PackageFinished]
    problems: list[LineProblem] = field(default_factory=list)
    torn_tail: bool = False
    unknown: list[UnknownEvent] = field(default_factory=list)
    replaced: list[PackageFinished] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    segment_ends: list[datetime] = field(default_factory=list)
    first_ts: datetime | None = None
    last_ts: datetime | None = None
    lazy_events: PackageEvents | None = None

    def __post_init__(self) -> None:
        if self.lazy_events is None:
            self.lazy_events = PackageEvents(self.problems)

    @property
    def _events(self) -> PackageEvents:
        assert self.lazy_events is not None
        return self.lazy_events

    # -- building -------------------------------------------------------------------

    @classmethod
    def from_events(
        cls,
        events: Iterable[AnyEvent],
        *,
        path: Path | None = None,
        problems: Sequence[LineProblem] = (),
        torn_tail: bool = False,
        run_id: str | None = None,
    ) -> RunData:
        """Build a run from events already in memory (for example ``read_events(...).events``)."""
        builder = RunBuilder(path=path, problems=list(problems), torn_tail=torn_tail)
        for event in events:
            builder.add(event)
        return builder.build(run_id)

    # -- what the run was -----------------------------------------------------------

    @property
    def label(self) -> str:
        return self.run_id

    @property
    def started_at(self) -> datetime | None:
        return self.starts[0].ts if self.starts else self.first_ts

    @property
    def finished_at(self) -> datetime | None:
        if self.finish is not None:
            return self.finish.finished_at
        return self.last_ts

    @property
    def interpreter(self) -> InterpreterInfo | None:
        return self.starts[-1].interpreter if self.starts else None

    def interpreter_of(self, condition: str | None) -> InterpreterInfo | None:
        """The interpreter ``condition`` ran on: its own when it had one, else the run's."""
        if self.starts and condition is not None:
            own = self.starts[-1].condition_interpreters.get(condition)
            if own is not None:
                return own
        return self.interpreter

    @property
    def options(self) -> RunOptions:
        return self.starts[0].options if self.starts else RunOptions()

    @property
    def resumed(self) -> int:
        """How many times the run was resumed (``run_started`` events after the first)."""
        return max(0, len(self.starts) - 1)

    @property
    def interrupted(self) -> bool:
        return self.finish is None or self.finish.interrupted

    @property
    def shard(self) -> str | None:
        return self.options.shard

    @property
    def merge_info(self) -> dict[str, Any] | None:
        """What a merged run recorded about its shards (``run_started.merge``), if merged."""
        if not self.starts:
            return None
        value = (self.starts[0].model_extra or {}).get(MERGE_FIELD)
        return value if isinstance(value, dict) else None

    @property
    def wall_s(self) -> float | None:
        """Real elapsed time: ``run_finished.wall_s`` for a run made in one go; for a resumed
        or unfinished run, the sum over its sessions of first to last event."""
        if self.finish is not None and len(self.starts) <= 1:
            return self.finish.wall_s
        if not self.starts:
            if self.first_ts is None or self.last_ts is None:
                return None
            return (self.last_ts - self.first_ts).total_seconds()
        total = 0.0
        for start, end in zip(self.starts, self.segment_ends, strict=False):
            total += max(0.0, (end - start.ts).total_seconds())
        return total

    def declared_conditions(self) -> list[str]:
        return [condition.name for condition in self.options.conditions]

    def conditions(self) -> list[str]:
        """Condition names: declared in ``run_started`` first, then any seen in results."""
        names = dict.fromkeys(self.declared_conditions())
        for _, condition in self.results:
            names.setdefault(condition, None)
        return list(names) or [DEFAULT_CONDITION]

    def selection(self) -> list[str] | None:
        """The selected package names, when the run recorded them (``run_started.selected``
        or ``run_started.options.selection``; every session's, together)."""
        names: dict[str, None] = {}
        found = False
        for start in self.starts:
            # An empty ``selected`` is what a writer that does not record it leaves.
            for value in (start.selected, (start.options.model_extra or {}).get(SELECTION_FIELD)):
                if isinstance(value, list) and value:
                    found = True
                    names.update(dict.fromkeys(str(name) for name in value))
        return list(names) if found else None

    def expected(self) -> set[Key] | None:
        """Every (package, condition) the run set out to test, when its selection is known."""
        selection = self.selection()
        if selection is None:
            return None
        conditions = self.declared_conditions() or self.conditions()
        return {(package, condition) for package in selection for condition in conditions}

    # -- per package ------------------------------------------------------------------

    def steps(self, package: str, condition: str = DEFAULT_CONDITION) -> list[StepFinished]:
        return [
            e
            for e in self._events.of(package)
            if isinstance(e, StepFinished) and e.condition == condition
        ]

    def package_started(
        self, package: str, condition: str = DEFAULT_CONDITION
    ) -> list[PackageStarted]:
        return [
            e
            for e in self._events.of(package)
            if isinstance(e, PackageStarted) and e.condition == condition
        ]

    def package_events(self) -> dict[str, list[PackageEvent]]:
        """Every ``package_started`` and ``step_finished`` event, by package (parses all)."""
        return self._events.everything()

    def unfinished(self) -> list[Key]:
        """Packages that started but have no ``package_finished`` (an interrupted run)."""
        return [key for key in self._events.started_keys() if key not in self.results]

    def validate(self) -> list[LineProblem]:
        """Validate every line (also those kept raw) and return all problems, by line."""
        self.package_events()
        self.problems.sort(key=lambda problem: problem.line)
        return self.problems

    def outcomes(self) -> Iterator[tuple[Key, Outcome]]:
        for key, result in self.results.items():
            yield key, result.outcome

    # -- files of the run ------------------------------------------------------------

    def artifact(self, relative: str | None) -> Path | None:
        """The file an event names (relative to the run directory), if it is inside it."""
        if not relative or self.path is None:
            return None
        root = self.path.resolve()
        candidate = (root / relative).resolve()
        if candidate != root and root not in candidate.parents:
            return None
        return candidate

    def read_artifact(self, relative: str | None, limit: int = 64 * 1024) -> str | None:
        """The text of a run file, its last ``limit`` bytes when longer; None if absent."""
        target = self.artifact(relative)
        if target is None or not target.is_file():
            return None
        try:
            data, size = read_tail(target, limit)
        except OSError:
            return None
        text = data.decode("utf-8", errors="replace")
        if size > limit:
            text = f"[... {size - limit} earlier bytes not shown ...]\n" + text
        return text


class RunBuilder:
    """Collects events (in file order) into a :class:`RunData`."""

    def __init__(
        self,
        *,
        path: Path | None = None,
        problems: list[LineProblem] | None = None,
        torn_tail: bool = False,
    ) -> None:
        self.path = path
        self.problems: list[LineProblem] = problems if problems is not None else []
        self.torn_tail = torn_tail
        self.starts: list[RunStarted] = []
        self.finish: RunFinished | None = None
        self.results: dict[Key, PackageFinished] = {}
        self.replaced: list[PackageFinished] = []
        self.unknown: list[UnknownEvent] = []
        self.segment_ends: list[datetime] = []
        self.first_ts: datetime | None = None
        self.last_ts: datetime | None = None
        self.run_ids: dict[str, None] = {}
        self.package_events = PackageEvents(self.problems)

    def saw_time(self, ts: datetime, session: int = -1) -> None:
        """Note an event's time (for the current session unless told which)."""
        if self.first_ts is None or ts < self.first_ts:
            self.first_ts = ts
        if self.last_ts is None or ts > self.last_ts:
            self.last_ts = ts
        if self.segment_ends and ts > self.segment_ends[session]:
            self.segment_ends[session] = ts

    def add(self, event: AnyEvent) -> None:
        if isinstance(event, UnknownEvent):
            self.unknown.append(event)
            return
        self.run_ids.setdefault(event.run_id, None)
        if isinstance(event, RunStarted):
            self.starts.append(event)
            self.segment_ends.append(event.ts)
        self.saw_time(event.ts)
        if isinstance(event, PackageFinished):
            self.add_finished(event)
        elif isinstance(event, RunFinished):
            self.finish = event
        elif isinstance(event, PackageStarted | StepFinished):
            self.package_events.add(event)

    def add_finished(self, event: PackageFinished) -> None:
        key = key_of(event)
        previous = self.results.get(key)
        if previous is not None:
            if previous.seq > event.seq:
                self.replaced.append(event)
                return
            self.replaced.append(previous)
        self.results[key] = event

    def build(self, run_id: str | None = None) -> RunData:
        if run_id is None:
            if self.starts:
                run_id = self.starts[0].run_id
            elif self.run_ids:
                run_id = next(iter(self.run_ids))
            elif self.path is not None:
                run_id = self.path.name
            else:
                run_id = "unknown"
        notes: list[str] = []
        others = [rid for rid in self.run_ids if rid != run_id]
        if others:
            notes.append(f"events of other runs mixed in: {', '.join(sorted(others))}")
        for event in self.replaced:
            notes.append(
                f"{event.package} [{event.condition}] finished more than once; "
                "the last package_finished is used"
            )
        return RunData(
            run_id=run_id,
            path=self.path,
            starts=self.starts,
            finish=self.finish,
            results=self.results,
            problems=self.problems,
            torn_tail=self.torn_tail,
            unknown=self.unknown,
            replaced=self.replaced,
            notes=notes,
            segment_ends=self.segment_ends,
            first_ts=self.first_ts,
            last_ts=self.last_ts,
            lazy_events=self.package_events,
        )

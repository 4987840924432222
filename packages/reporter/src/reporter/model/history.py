"""Many runs side by side: each package's outcomes over time, flakiness, crash buckets'
first and last sighting (deadlocks and ThreadSanitizer buckets included: one bucket seen
in several packages, iterations or runs is one line)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from typing import NamedTuple, Protocol

from normalized_events import Condition, InterpreterInfo, Outcome, collector_paused

from reporter.model.lazy_events import Key
from reporter.model.rundata import RunData

NEVER = datetime.min.replace(tzinfo=UTC)
# Outcomes whose crash record has a bucket: crashes, and suites stopped with their stacks.
_BUCKETED = frozenset({Outcome.CRASH, Outcome.HANG, Outcome.TIMEOUT})


@dataclass(frozen=True)
class RunPoint:
    run_id: str
    started_at: datetime | None
    interpreter: str


class Entry(NamedTuple):
    """One package's result in one run (a tuple: there are runs x packages of them)."""

    outcome: Outcome
    bucket: str | None
    source: str | None
    interpreter: str
    duration_s: float
    reproducible: bool | None = None
    attempts_differ: bool = False


@dataclass(frozen=True)
class PackageHistory:
    package: str
    condition: str
    entries: tuple[Entry | None, ...]
    """Aligned with :attr:`History.runs`; None where the run has no result for it."""
    flaky: bool = False
    flaky_detail: str = ""

    @property
    def outcomes(self) -> list[Outcome | None]:
        return [entry.outcome if entry else None for entry in self.entries]

    @property
    def changed(self) -> bool:
        """Whether the outcome is not the same in every run that has a result."""
        return len({e.outcome for e in self.entries if e is not None}) > 1

    @property
    def last(self) -> Entry | None:
        return next((e for e in reversed(self.entries) if e is not None), None)


@dataclass(frozen=True)
class BucketHistory:
    bucket: str
    signature: str
    first_seen: int
    last_seen: int
    runs_seen: int
    packages: tuple[str, ...]


@dataclass(frozen=True)
class History:
    runs: list[RunPoint]
    packages: list[PackageHistory]
    buckets: list[BucketHistory]

    def flaky(self) -> list[PackageHistory]:
        return [p for p in self.packages if p.flaky]

    def changed(self) -> list[PackageHistory]:
        """Packages whose outcome changed over the runs (flaky ones included)."""
        return [p for p in self.packages if p.changed]


@dataclass
class _Sighting:
    signature: str
    first: int
    runs: set[int] = field(default_factory=set)
    packages: set[str] = field(default_factory=set)


def interpreter_label(info: InterpreterInfo | None) -> str:
    if info is None:
        return "unknown"
    label = f"{info.implementation} {info.version}"
    if info.jit_enabled:
        label += " JIT"
    if info.free_threaded:
        label += " free-threaded"
    return label


class Row(NamedTuple):
    """What a history needs of one ``package_finished`` event."""

    package: str
    condition: str
    outcome: Outcome
    bucket: str | None
    signature: str
    reproducible: bool | None
    source: str | None
    duration_s: float
    attempts_differ: bool = False
    races: tuple[tuple[str, str], ...] = ()  # (bucket, signature) of each TSan bucket


class _CrashFacts(Protocol):
    @property
    def bucket(self) -> str: ...
    @property
    def signature(self) -> str: ...
    @property
    def reproducible(self) -> bool | None: ...


class _RaceFacts(Protocol):
    @property
    def bucket(self) -> str: ...
    @property
    def signature(self) -> str: ...


class ResultFacts(Protocol):
    """The fields of ``package_finished`` a row reads: the full event or the narrow
    reader's model of it (history_load)."""

    @property
    def package(self) -> str: ...
    @property
    def condition(self) -> str: ...
    @property
    def outcome(self) -> Outcome: ...
    @property
    def crash(self) -> _CrashFacts | None: ...
    @property
    def source_revision(self) -> str | None: ...
    @property
    def package_version(self) -> str | None: ...
    @property
    def duration_s(self) -> float: ...
    @property
    def attempt_outcomes(self) -> Sequence[Outcome]: ...
    @property
    def races(self) -> Sequence[_RaceFacts]: ...


def row_of(result: ResultFacts) -> Row:
    """The row of one result, whichever reader read it."""
    crash = result.crash
    return Row(
        result.package,
        result.condition,
        result.outcome,
        (crash.bucket or crash.signature or None) if crash is not None else None,
        crash.signature if crash is not None else "",
        crash.reproducible if crash is not None else None,
        result.source_revision or result.package_version,
        result.duration_s,
        len(set(result.attempt_outcomes)) > 1,
        tuple((race.bucket, race.signature) for race in result.races),
    )


@dataclass
class RunRows:
    """What a history needs of one run: when, on what, and one row per result."""

    run_id: str
    started_at: datetime | None
    interpreter: InterpreterInfo | None
    conditions: list[Condition]
    rows: list[Row]

    @classmethod
    def of(cls, run: RunData) -> RunRows:
        rows = [row_of(result) for result in run.results.values()]
        return cls(run.run_id, run.started_at, run.interpreter, run.options.conditions, rows)


class _InterpreterIds(dict[str, str]):
    """An identity per condition: the interpreter facts plus the condition's definition."""

    def __init__(self, run: RunRows) -> None:
        super().__init__()
        self.base = run.interpreter.model_dump(mode="json") if run.interpreter else None
        self.declared = {c.name: c.model_dump(mode="json") for c in run.conditions}

    def __missing__(self, name: str) -> str:
        identity = json.dumps([self.base, self.declared.get(name)], sort_keys=True)
        self[name] = identity
        return identity


def _flakiness(entries: Sequence[Entry | None], runs: Sequence[RunPoint]) -> str:
    """Why a package is flaky, or ''.

    Flaky means the outcome oscillates (changes at least twice, as in pass -> crash ->
    pass) across runs that share the package's source revision and the interpreter, a
    crash did not reproduce when rerun, or the attempts of one run (retries) disagreed. A
    single change is not flakiness: it is what a regression looks like.
    """
    present = [e for e in entries if e is not None]
    if (
        len({e.outcome for e in present}) == 1
        and present[0].outcome != Outcome.CRASH
        and not any(e.attempts_differ for e in present)
    ):
        return ""  # one outcome throughout, no crash to have failed to reproduce
    groups: dict[tuple[str | None, str], list[Outcome]] = defaultdict(list)
    for entry in entries:
        if entry is not None and entry.outcome != Outcome.SKIPPED:
            groups[(entry.source, entry.interpreter)].append(entry.outcome)
    reasons = []
    for (source, _), outcomes in groups.items():
        changes = sum(1 for x, y in pairwise(outcomes) if x != y)
        if changes >= 2:
            where = f"source {source[:12]}" if source else "an unknown source revision"
            story = " -> ".join(o.value for o in outcomes)
            reasons.append(f"{story} with {where} and one interpreter")
    unreproduced = [
        runs[i].run_id
        for i, entry in enumerate(entries)
        if entry is not None and entry.outcome == Outcome.CRASH and entry.reproducible is False
    ]
    if unreproduced:
        reasons.append(f"crash did not reproduce on rerun in {', '.join(unreproduced)}")
    retried = [runs[i].run_id for i, e in enumerate(entries) if e is not None and e.attempts_differ]
    if retried:
        reasons.append(f"attempts of one run disagreed in {', '.join(retried)}")
    return "; ".join(reasons)


def _oldest_first(run: RunData | RunRows) -> tuple[bool, datetime, str]:
    return (run.started_at is None, run.started_at or NEVER, run.run_id)


def order_runs(runs: Sequence[RunData]) -> list[RunData]:
    """Oldest first, by start time (runs with no time at all last)."""
    return sorted(runs, key=_oldest_first)


def build_history(runs: Sequence[RunData]) -> History:
    """Line up runs (oldest first, by start time) and read each package's story."""
    with collector_paused():
        return history_of([RunRows.of(run) for run in runs])


def history_of(runs: Sequence[RunRows]) -> History:
    """The history of runs already reduced to what a history needs (see ``RunRows``)."""
    with collector_paused():
        return _build(
            sorted(runs, key=lambda r: (r.started_at is None, r.started_at or NEVER, r.run_id))
        )


def _build(ordered: Sequence[RunRows]) -> History:
    points = [RunPoint(r.run_id, r.started_at, interpreter_label(r.interpreter)) for r in ordered]
    table: dict[Key, list[Entry | None]] = {}
    blank: list[Entry | None] = [None] * len(ordered)
    buckets: dict[str, _Sighting] = {}
    for index, run in enumerate(ordered):
        interpreters = _InterpreterIds(run)
        for row in run.rows:
            key = (row.package, row.condition)
            line = table.get(key)
            if line is None:
                line = table[key] = list(blank)
            line[index] = Entry(
                row.outcome,
                row.bucket,
                row.source,
                interpreters[row.condition],
                row.duration_s,
                row.reproducible,
                row.attempts_differ,
            )
            sighted = list(row.races)
            if row.bucket is not None and row.outcome in _BUCKETED:
                sighted.append((row.bucket, row.signature))
            for bucket, signature in sighted:
                seen = buckets.get(bucket)
                if seen is None:
                    seen = buckets[bucket] = _Sighting(signature=signature, first=index)
                seen.runs.add(index)
                seen.packages.add(row.package)
    packages = []
    for (package, condition), line in sorted(table.items()):
        detail = _flakiness(line, points)
        packages.append(
            PackageHistory(package, condition, tuple(line), flaky=bool(detail), flaky_detail=detail)
        )
    bucket_list = [
        BucketHistory(
            bucket=bucket,
            signature=seen.signature,
            first_seen=seen.first,
            last_seen=max(seen.runs),
            runs_seen=len(seen.runs),
            packages=tuple(sorted(seen.packages)),
        )
        for bucket, seen in buckets.items()
    ]
    bucket_list.sort(key=lambda b: (-b.last_seen, b.first_seen, b.bucket))
    return History(runs=points, packages=packages, buckets=bucket_list)

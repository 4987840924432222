"""Many runs side by side: each package's outcomes over time, flakiness, crash buckets'
first and last sighting."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from typing import NamedTuple

from normalized_events import Outcome

from reporter.bulk import collector_paused
from reporter.rundata import Key, RunData


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


def interpreter_label(run: RunData) -> str:
    info = run.interpreter
    if info is None:
        return "unknown"
    label = f"{info.implementation} {info.version}"
    if info.jit_enabled:
        label += " JIT"
    if info.free_threaded:
        label += " free-threaded"
    return label


class _InterpreterIds(dict[str, str]):
    """An identity per condition: the interpreter facts plus the condition's definition."""

    def __init__(self, run: RunData) -> None:
        super().__init__()
        self.base = run.interpreter.model_dump(mode="json") if run.interpreter else None
        self.declared = {c.name: c.model_dump(mode="json") for c in run.options.conditions}

    def __missing__(self, name: str) -> str:
        identity = json.dumps([self.base, self.declared.get(name)], sort_keys=True)
        self[name] = identity
        return identity


def _flakiness(entries: Sequence[Entry | None], runs: Sequence[RunPoint]) -> str:
    """Why a package is flaky, or ''.

    Flaky means the outcome oscillates (changes at least twice, as in pass -> crash ->
    pass) across runs that share the package's source revision and the interpreter, or a
    crash did not reproduce when rerun. A single change is not flakiness: it is what a
    regression looks like.
    """
    present = [e for e in entries if e is not None]
    if len({e.outcome for e in present}) == 1 and present[0].outcome != Outcome.CRASH:
        return ""  # one outcome throughout (no crash to have failed to reproduce)
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
    return "; ".join(reasons)


def order_runs(runs: Sequence[RunData]) -> list[RunData]:
    """Oldest first, by start time (runs with no time at all last)."""
    never = datetime.min.replace(tzinfo=UTC)
    return sorted(runs, key=lambda r: (r.started_at is None, r.started_at or never, r.run_id))


def build_history(runs: Sequence[RunData]) -> History:
    """Line up runs (oldest first, by start time) and read each package's story."""
    with collector_paused():
        return _build_history(runs)


def _build_history(runs: Sequence[RunData]) -> History:
    ordered = order_runs(runs)
    points = [RunPoint(r.run_id, r.started_at, interpreter_label(r)) for r in ordered]
    table: dict[Key, list[Entry | None]] = {}
    blank: list[Entry | None] = [None] * len(ordered)
    buckets: dict[str, _Sighting] = {}
    for index, run in enumerate(ordered):
        interpreters = _InterpreterIds(run)
        for key, result in run.results.items():
            row = table.get(key)
            if row is None:
                row = table[key] = list(blank)
            crash = result.crash
            bucket = (crash.bucket or crash.signature or None) if crash is not None else None
            row[index] = Entry(
                result.outcome,
                bucket,
                result.source_revision or result.package_version,
                interpreters[key[1]],
                result.duration_s,
                crash.reproducible if crash is not None else None,
            )
            if bucket is not None and result.outcome == Outcome.CRASH:
                seen = buckets.get(bucket)
                if seen is None:
                    signature = result.crash.signature if result.crash else ""
                    seen = buckets[bucket] = _Sighting(signature=signature, first=index)
                seen.runs.add(index)
                seen.packages.add(result.package)
    packages = []
    for (package, condition), row in sorted(table.items()):
        detail = _flakiness(row, points)
        packages.append(
            PackageHistory(package, condition, tuple(row), flaky=bool(detail), flaky_detail=detail)
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

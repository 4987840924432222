"""The free-threading view of one run: packages by what free threading did to them.

Categories, from each `package_finished` event (a package may be in several):

- crash: it crashed (`gil_off_only` says whether the GIL-on rerun made it go away);
- deadlock: stopped at a timeout with every thread waiting (the stacks it gave);
- hang: stopped at a timeout otherwise (busy, or no stacks to tell);
- flaky: some tests passed in one iteration and failed in another (`--iterations`);
- gil re-enabled: importing a module without `Py_mod_gil` turned the GIL back on;
- races: ThreadSanitizer reported races (one bucket per site, counted);
- works: passed, with none of the above.

TSan buckets are also gathered over packages: one row per bucket, with every package
that reported it and how many reports in all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from normalized_events import Outcome, PackageFinished, RaceInfo

Category = Literal["works", "crash", "deadlock", "hang", "flaky", "gil re-enabled", "races"]
CATEGORIES: tuple[Category, ...] = (
    "crash",
    "deadlock",
    "hang",
    "flaky",
    "gil re-enabled",
    "races",
    "works",
)


def categories(result: PackageFinished) -> list[Category]:
    """The categories of one result, in CATEGORIES order."""
    found: list[Category] = []
    kind = result.crash.kind if result.crash is not None else None
    if result.outcome is Outcome.CRASH:
        found.append("crash")
    if kind == "deadlock":
        found.append("deadlock")
    elif result.outcome in (Outcome.HANG, Outcome.TIMEOUT):
        found.append("hang")
    if result.flaky_tests or len(set(result.iteration_outcomes)) > 1:
        found.append("flaky")
    if result.gil_enabled_by:
        found.append("gil re-enabled")
    if result.races:
        found.append("races")
    if not found and result.outcome is Outcome.PASS:
        found.append("works")
    return found


def concerns_threading(result: PackageFinished) -> bool:
    """Whether a result has anything for this view (a free-threaded or TSan run)."""
    return bool(
        result.gil is not None or result.races or result.iterations > 1 or result.gil_enabled_by
    )


@dataclass(frozen=True)
class Placed:
    """One result in one category, with what tells it and where the evidence is."""

    category: Category
    result: PackageFinished
    detail: str
    evidence: str | None


@dataclass
class RaceBucket:
    bucket: str
    kind: str
    signature: str
    frames: list[str]
    reports: int = 0
    packages: list[str] = field(default_factory=list)
    log_path: str | None = None


@dataclass(frozen=True)
class FreeThreadingView:
    placed: list[Placed]
    races: list[RaceBucket]

    def count(self, category: Category) -> int:
        return len(
            {(p.result.package, p.result.condition) for p in self.placed if p.category == category}
        )


def free_threading_view(results: Iterable[PackageFinished]) -> FreeThreadingView | None:
    """The view, or None when no result concerns free threading."""
    chosen = sorted(
        (r for r in results if concerns_threading(r)), key=lambda r: (r.package, r.condition)
    )
    if not chosen:
        return None
    placed = [
        Placed(category, result, _detail(category, result), _evidence(category, result))
        for result in chosen
        for category in categories(result)
    ]
    placed.sort(key=lambda p: (CATEGORIES.index(p.category), p.result.package))
    return FreeThreadingView(placed=placed, races=race_buckets(chosen))


def race_buckets(results: Iterable[PackageFinished]) -> list[RaceBucket]:
    """TSan buckets over packages, most reported first."""
    buckets: dict[str, RaceBucket] = {}
    for result in results:
        for race in result.races:
            bucket = buckets.get(race.bucket)
            if bucket is None:
                bucket = buckets[race.bucket] = _bucket(race)
            bucket.reports += race.count
            if result.package not in bucket.packages:
                bucket.packages.append(result.package)
    return sorted(buckets.values(), key=lambda b: (-b.reports, b.signature))


def _bucket(race: RaceInfo) -> RaceBucket:
    return RaceBucket(race.bucket, race.kind, race.signature, race.frames, log_path=race.log_path)


_GIL_OFF_ONLY: dict[bool | None, str] = {
    True: "gone with the GIL on",
    False: "crashes with the GIL on too",
    None: "",
}


def _detail(category: Category, result: PackageFinished) -> str:
    crash = result.crash
    if category == "crash" and crash is not None:
        gil = _GIL_OFF_ONLY[crash.gil_off_only]
        return "; ".join(p for p in (crash.signature, gil) if p)
    if category in ("deadlock", "hang"):
        return crash.signature if crash is not None else (result.reason or "")
    if category == "flaky":
        runs = ", ".join(o.value for o in result.iteration_outcomes)
        return f"{', '.join(result.flaky_tests) or 'outcomes differ'} ({runs})"
    if category == "gil re-enabled":
        return ", ".join(result.gil_enabled_by)
    if category == "races":
        total = sum(r.count for r in result.races)
        return f"{len(result.races)} bucket(s), {total} report(s)"
    return f"GIL {result.gil}" if result.gil else ""


def _evidence(category: Category, result: PackageFinished) -> str | None:
    crash = result.crash
    if category in ("crash", "deadlock", "hang") and crash is not None:
        return crash.stderr_path
    if category == "races" and result.races:
        return result.races[0].log_path
    return None

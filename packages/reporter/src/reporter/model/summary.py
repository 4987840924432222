"""The summary of one run: counts, crash buckets, why packages could not be tested."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from normalized_events import Outcome, PackageFinished

from reporter.model.hints import missing_distributions, missing_modules
from reporter.model.install_kinds import install_failures
from reporter.model.lazy_events import Key
from reporter.model.rundata import RunData

# Upper bounds (seconds) of the duration distribution's bins; the last bin is open.
DURATION_BINS: tuple[tuple[float, str], ...] = (
    (1, "< 1 s"),
    (5, "1-5 s"),
    (15, "5-15 s"),
    (30, "15-30 s"),
    (60, "30-60 s"),
    (120, "1-2 min"),
    (300, "2-5 min"),
    (600, "5-10 min"),
    (1800, "10-30 min"),
)
OVER_LAST_BIN = "> 30 min"


@dataclass(frozen=True)
class CrashBucket:
    """Crashes with one signature: where, in which packages, whether they reproduce."""

    bucket: str
    signature: str
    kind: str
    headline: str
    results: tuple[PackageFinished, ...]

    @property
    def packages(self) -> list[str]:
        return sorted({r.package for r in self.results})

    @property
    def reproducibility(self) -> str:
        """reproducible, flaky (did not reproduce on rerun), mixed, or unknown."""
        seen = {r.crash.reproducible for r in self.results if r.crash is not None}
        if True in seen and False in seen:
            return "mixed"
        if True in seen:
            return "reproducible"
        if False in seen:
            return "flaky"
        return "unknown"

    @property
    def reproducers(self) -> list[str]:
        return [
            r.crash.reproducer_path for r in self.results if r.crash and r.crash.reproducer_path
        ]

    @property
    def jit_only(self) -> str:
        """yes (every crash gone with the JIT off), no, mixed, or unknown."""
        return _agreement([r.crash.jit_only for r in self.results if r.crash is not None])

    @property
    def gil_off_only(self) -> str:
        """yes (every crash gone with the GIL on), no, mixed, or unknown."""
        return _agreement([r.crash.gil_off_only for r in self.results if r.crash is not None])

    @property
    def test_ids(self) -> list[str]:
        """The tests that were running when the processes died, in package order."""
        found = [r.crash.test_id for r in self.results if r.crash and r.crash.test_id]
        return list(dict.fromkeys(found))


def _agreement(values: list[bool | None]) -> str:
    known = {v for v in values if v is not None}
    if known == {True}:
        return "yes"
    if known == {False}:
        return "no"
    return "mixed" if known else "unknown"


# JIT-only buckets first: a JIT developer reads them first.
_JIT_ORDER = {"yes": 0, "mixed": 1, "unknown": 2, "no": 3}


@dataclass(frozen=True)
class ReasonGroup:
    """Packages that could not be tested for the same stated reason."""

    outcome: Outcome
    reason: str
    keys: tuple[Key, ...]
    missing_modules: tuple[str, ...] = ()
    missing_distributions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Summary:
    run: RunData
    counts: dict[Outcome, int]
    buckets: list[CrashBucket]
    reason_groups: list[ReasonGroup]
    missing_modules: dict[str, list[str]]
    slowest: list[PackageFinished]
    skipped: list[PackageFinished]
    unfinished: list[Key] = field(default_factory=list)
    not_run: list[Key] = field(default_factory=list)
    durations: list[tuple[str, int]] = field(default_factory=list)
    install_failures: dict[str, list[str]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def count_outcomes(results: list[PackageFinished]) -> dict[Outcome, int]:
    """Outcome -> number of results, every outcome present (zeros included), in enum order."""
    counts = dict.fromkeys(Outcome, 0)
    for result in results:
        counts[result.outcome] += 1
    return counts


def crash_buckets(results: list[PackageFinished]) -> list[CrashBucket]:
    grouped: dict[str, list[PackageFinished]] = defaultdict(list)
    for result in results:
        # a suite stopped at a timeout with its stacks (a deadlock) has a bucket too
        stopped = result.outcome in (Outcome.HANG, Outcome.TIMEOUT) and result.crash is not None
        if result.outcome != Outcome.CRASH and not stopped:
            continue
        crash = result.crash
        bucket = (crash.bucket or crash.signature) if crash else ""
        grouped[bucket or "(no signature)"].append(result)
    buckets = []
    for bucket, members in grouped.items():
        first = next((m.crash for m in members if m.crash is not None), None)
        buckets.append(
            CrashBucket(
                bucket=bucket,
                signature=first.signature if first else "",
                kind=first.kind if first else "",
                headline=first.headline if first else "",
                results=tuple(sorted(members, key=lambda r: (r.package, r.condition))),
            )
        )
    buckets.sort(key=lambda b: (_JIT_ORDER[b.jit_only], -len(b.packages), b.bucket))
    return buckets


def _failure_texts(run: RunData, result: PackageFinished) -> list[str]:
    texts = [result.reason or ""]
    for step in run.steps(result.package, result.condition):
        texts.extend(step.last_lines)
    return texts


def reason_groups(run: RunData, results: list[PackageFinished]) -> list[ReasonGroup]:
    """Packages that could not be tested, grouped by outcome and reason."""
    grouped: dict[tuple[Outcome, str], list[PackageFinished]] = defaultdict(list)
    for result in results:
        if result.outcome.untestable:
            reason = (result.reason or "").strip() or "(no reason given)"
            grouped[(result.outcome, reason)].append(result)
    groups = []
    for (outcome, reason), members in grouped.items():
        texts = [text for member in members for text in _failure_texts(run, member)]
        groups.append(
            ReasonGroup(
                outcome=outcome,
                reason=reason,
                keys=tuple(sorted((m.package, m.condition) for m in members)),
                missing_modules=tuple(missing_modules(texts)),
                missing_distributions=tuple(missing_distributions(texts)),
            )
        )
    groups.sort(key=lambda g: (-len(g.keys), g.outcome.value, g.reason))
    return groups


def duration_distribution(results: list[PackageFinished]) -> list[tuple[str, int]]:
    """How many packages (skipped ones aside) took how long, in fixed bins."""
    counts = [0] * (len(DURATION_BINS) + 1)
    for result in results:
        if result.outcome == Outcome.SKIPPED:
            continue
        for index, (upper, _) in enumerate(DURATION_BINS):
            if result.duration_s < upper:
                counts[index] += 1
                break
        else:
            counts[-1] += 1
    labels = [label for _, label in DURATION_BINS] + [OVER_LAST_BIN]
    return list(zip(labels, counts, strict=True))


def summarize(run: RunData, *, slowest: int = 10) -> Summary:
    """Everything the summary view shows, computed from the run's events."""
    results = list(run.results.values())
    groups = reason_groups(run, results)
    modules: dict[str, set[str]] = defaultdict(set)
    for group in groups:
        for module in group.missing_modules:
            modules[module].update(package for package, _ in group.keys)
    expected = run.expected()
    unfinished = sorted(run.unfinished())
    not_run = sorted(expected - run.results.keys() - set(unfinished)) if expected else []
    ran = [r for r in results if r.outcome != Outcome.SKIPPED]
    return Summary(
        run=run,
        counts=count_outcomes(results),
        buckets=crash_buckets(results),
        reason_groups=groups,
        missing_modules={m: sorted(p) for m, p in sorted(modules.items())},
        slowest=sorted(ran, key=lambda r: (-r.duration_s, r.package))[: max(0, slowest)],
        skipped=sorted(
            (r for r in results if r.outcome == Outcome.SKIPPED),
            key=lambda r: (r.package, r.condition),
        ),
        unfinished=unfinished,
        not_run=not_run,
        durations=duration_distribution(results),
        install_failures=install_failures(results),
    )

"""Comparing two sides, crater-style: two runs, or two conditions of one run.

The whole classification is one pure function, :func:`categorize`, from the two outcomes
(plus crash buckets and "spurious" hints) to a :class:`Category`; everything else here
pairs results up and decorates the pairs (source revision changed? timing changed?).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import overload

from normalized_events import DEFAULT_CONDITION, InterpreterInfo, Outcome, PackageFinished

from reporter.model.categories import CATEGORY_ORDER, Category, TimingRule
from reporter.model.hints import network_shaped
from reporter.model.install_kinds import install_failure_kind, install_failures
from reporter.model.rundata import RunData


def categorize(
    a: Outcome | None,
    b: Outcome | None,
    *,
    bucket_a: str | None = None,
    bucket_b: str | None = None,
    spurious_a: bool = False,
    spurious_b: bool = False,
) -> Category:
    """Classify the transition from outcome ``a`` to outcome ``b``.

    ``None`` means the side has no result. ``bucket_*`` are the crash buckets (only read
    when both sides crash; two unknown buckets count as the same). ``spurious_*`` mark a
    failure that looks environmental (a network-shaped failure); timeouts, hangs and OOM
    kills always are.
    """
    if a is None or b is None:
        return Category.MISSING
    settled = _skip_crash_or_same(a, b, bucket_a, bucket_b)
    if settled is not None:
        return settled
    if spurious_a or spurious_b or a.spurious or b.spurious:
        return Category.SPURIOUS
    return _change(a, b)


def _skip_crash_or_same(
    a: Outcome, b: Outcome, bucket_a: str | None, bucket_b: str | None
) -> Category | None:
    """The transitions no hint of an environmental failure changes: a skip on either side,
    a crash on the B side, the same outcome twice; None for the others."""
    if Outcome.SKIPPED in (a, b):
        return Category.SAME if a == b else Category.SKIPPED
    if a == Outcome.CRASH and b == Outcome.CRASH:
        if bucket_a and bucket_b and bucket_a != bucket_b:
            return Category.NEW_CRASH_BUCKET
        return Category.STILL_BROKEN
    if b == Outcome.CRASH:
        return Category.REGRESSED
    if a == b:
        return Category.SAME if a == Outcome.PASS else Category.STILL_BROKEN
    return None


def _change(a: Outcome, b: Outcome) -> Category:
    """A change between two different outcomes, neither skipped, B no crash."""
    if a == Outcome.CRASH:
        return Category.FIXED if b.tested else Category.BROKEN
    if (a, b) == (Outcome.PASS, Outcome.FAIL):
        return Category.REGRESSED
    if (a, b) == (Outcome.FAIL, Outcome.PASS):
        return Category.FIXED
    if b.untestable:
        return Category.STILL_BROKEN if a.untestable else Category.BROKEN
    # A never ran its tests; B did: passing is a fix, failing has nothing to compare with.
    return Category.FIXED if b == Outcome.PASS else Category.NOW_TESTED


# What apiary wrote for a non-zero exit before it required a test summary for `fail`.
_EXIT_STATUS_ONLY = re.compile(r"^exit status -?\d+$")


@overload
def compared_outcome(result: PackageFinished) -> Outcome: ...
@overload
def compared_outcome(result: PackageFinished | None) -> Outcome | None: ...
def compared_outcome(result: PackageFinished | None) -> Outcome | None:
    """The outcome compare reads: a `fail` recorded with no test summary at all (its reason
    only `exit status N`) never ran its tests, so it counts as a config error."""
    if result is None:
        return None
    if result.outcome is Outcome.FAIL and _EXIT_STATUS_ONLY.match(result.reason or ""):
        return Outcome.CONFIG_ERROR
    return result.outcome


def never_ran(result: PackageFinished | None) -> bool:
    """A `fail` that compare reads as a config error (see `compared_outcome`)."""
    return result is not None and compared_outcome(result) is not result.outcome


def crash_bucket(result: PackageFinished | None) -> str | None:
    if result is None or result.crash is None:
        return None
    return result.crash.bucket or result.crash.signature or None


def looks_spurious(result: PackageFinished | None, extra_text: tuple[str, ...] = ()) -> bool:
    """A non-crash failure whose reason (or given log lines) is network-shaped."""
    if result is None or result.outcome in (Outcome.PASS, Outcome.CRASH, Outcome.SKIPPED):
        return False
    return network_shaped((result.reason, *extra_text))


def is_flaky(result: PackageFinished | None) -> bool:
    """The package was retried and its attempts did not all end the same way."""
    return result is not None and len(set(result.attempt_outcomes)) > 1


def categorize_results(a: PackageFinished | None, b: PackageFinished | None) -> Category:
    """:func:`categorize` for two ``package_finished`` events (buckets and hints derived
    from the events themselves: reasons, not logs). A change on a side whose retries
    disagreed with each other is spurious: it did not hold when run again."""
    if a is not None and b is not None and a.outcome != b.outcome and (is_flaky(a) or is_flaky(b)):
        return Category.SPURIOUS
    return categorize(
        compared_outcome(a),
        compared_outcome(b),
        bucket_a=crash_bucket(a),
        bucket_b=crash_bucket(b),
        spurious_a=looks_spurious(a),
        spurious_b=looks_spurious(b),
    )


@dataclass(frozen=True)
class TimingChange:
    a_s: float
    b_s: float

    @property
    def ratio(self) -> float:
        """B's time over A's (above 1: B is slower)."""
        if self.a_s <= 0:
            return float("inf") if self.b_s > 0 else 1.0
        return self.b_s / self.a_s

    @property
    def slower(self) -> bool:
        return self.b_s > self.a_s


def test_seconds(result: PackageFinished) -> float:
    """The time of the test step when recorded, else the package's whole duration."""
    return result.durations.get("test", result.duration_s)


def timing_change(
    a: PackageFinished | None, b: PackageFinished | None, rule: TimingRule
) -> TimingChange | None:
    if a is None or b is None or not compared_outcome(a).tested:
        return None
    if not compared_outcome(b).tested:
        return None
    if "test" in a.durations and "test" in b.durations:
        a_s, b_s = a.durations["test"], b.durations["test"]
    else:
        a_s, b_s = a.duration_s, b.duration_s
    low, high = sorted((a_s, b_s))
    if high - low < rule.min_delta_s or high < low * rule.ratio:
        return None
    return TimingChange(a_s=a_s, b_s=b_s)


def source_changed(a: PackageFinished | None, b: PackageFinished | None) -> bool | None:
    """Whether the package's source differs between the sides; None when unknown."""
    if a is None or b is None:
        return None
    if a.source_revision and b.source_revision:
        return a.source_revision != b.source_revision
    if a.package_version and b.package_version:
        return a.package_version != b.package_version
    return None


@dataclass(frozen=True)
class Pair:
    """One package compared across the two sides."""

    package: str
    condition_a: str
    condition_b: str
    a: PackageFinished | None
    b: PackageFinished | None
    category: Category
    source_changed: bool | None = None
    timing: TimingChange | None = None
    spurious_a: bool = False
    spurious_b: bool = False

    @property
    def condition(self) -> str:
        if self.condition_a == self.condition_b:
            return self.condition_a
        return f"{self.condition_a} -> {self.condition_b}"

    @property
    def note(self) -> str:
        """What a reader should know next to the category."""
        if self.category in (Category.REGRESSED, Category.NEW_CRASH_BUCKET):
            if self.source_changed is False:
                return "unchanged: likely an interpreter regression"
            if self.source_changed:
                return "source changed"
            return "source revision unknown"
        if self.category == Category.SPURIOUS and (is_flaky(self.a) or is_flaky(self.b)):
            return "retries disagreed: flaky"
        if self.category == Category.SPURIOUS and (self.spurious_a or self.spurious_b):
            return "network-shaped failure"
        silent = [side for side, r in (("A", self.a), ("B", self.b)) if never_ran(r)]
        if silent:
            return f"{' and '.join(silent)}: fail without a test summary, its tests never ran"
        return ""


@dataclass(frozen=True)
class BucketDelta:
    """A crash bucket seen on one side only, with the packages crashing in it."""

    bucket: str
    signature: str
    packages: tuple[str, ...]


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a run, optionally narrowed to one condition."""

    run: RunData
    condition: str | None = None

    @property
    def label(self) -> str:
        if self.condition is None:
            return self.run.run_id
        return f"{self.run.run_id} [{self.condition}]"

    @property
    def interpreter(self) -> InterpreterInfo | None:
        return self.run.interpreter_of(self.condition)

    def indexed(self) -> dict[tuple[str, str], PackageFinished]:
        """Results by pairing key: (package, condition), or (package, "") for one condition."""
        if self.condition is None:
            return dict(self.run.results)
        return {
            (package, ""): result
            for (package, condition), result in self.run.results.items()
            if condition == self.condition
        }


@dataclass(frozen=True)
class Comparison:
    a: Side
    b: Side
    pairs: list[Pair]
    timing_rule: TimingRule = field(default_factory=TimingRule)

    def counts(self) -> dict[Category, int]:
        counts = dict.fromkeys(CATEGORY_ORDER, 0)
        for pair in self.pairs:
            counts[pair.category] += 1
        return counts

    def by_category(self, category: Category) -> list[Pair]:
        return [pair for pair in self.pairs if pair.category == category]

    def timing_changes(self) -> list[Pair]:
        changed = [pair for pair in self.pairs if pair.timing is not None]
        return sorted(changed, key=lambda p: -abs(p.timing.b_s - p.timing.a_s))  # type: ignore[union-attr]

    def _buckets(self, mine: Side, other: Side) -> list[BucketDelta]:
        theirs = {crash_bucket(r) for r in other.indexed().values()}
        found: dict[str, tuple[str, list[str]]] = {}
        for result in mine.indexed().values():
            bucket = crash_bucket(result)
            if bucket is None or bucket in theirs or result.crash is None:
                continue
            packages = found.setdefault(bucket, (result.crash.signature, []))[1]
            packages.append(result.package)
        return [
            BucketDelta(bucket, signature, tuple(sorted(set(packages))))
            for bucket, (signature, packages) in sorted(found.items())
        ]

    def new_buckets(self) -> list[BucketDelta]:
        """Crash buckets that B has and A never had."""
        return self._buckets(self.b, self.a)

    def gone_buckets(self) -> list[BucketDelta]:
        """Crash buckets that A had and B no longer has."""
        return self._buckets(self.a, self.b)

    def install_failure_changes(self) -> list[Pair]:
        """Packages whose install failure kind differs between the sides (one side may
        install): what a new CPython broke, and how."""
        return [
            pair
            for pair in self.pairs
            if install_failure_kind(pair.a) != install_failure_kind(pair.b)
            and pair.a is not None
            and pair.b is not None
        ]

    def install_failure_counts(self) -> list[tuple[str, int, int]]:
        """(kind, packages on A, packages on B) for every kind seen on either side."""
        a = install_failures(list(self.a.indexed().values()))
        b = install_failures(list(self.b.indexed().values()))
        kinds = sorted(a.keys() | b.keys(), key=lambda k: (-len(b.get(k, [])), k))
        return [(k, len(a.get(k, [])), len(b.get(k, []))) for k in kinds]

    def interpreter_changed(self) -> bool:
        a, b = self.a.interpreter, self.b.interpreter
        if a is None or b is None:
            return False
        return a.model_dump(mode="json") != b.model_dump(mode="json")


def _network_hint(run: RunData, result: PackageFinished | None) -> bool:
    """Network-shaped, judged on the reason and the last lines of the package's steps."""
    if result is None or result.outcome in (Outcome.PASS, Outcome.CRASH, Outcome.SKIPPED):
        return False
    lines = tuple(
        line for step in run.steps(result.package, result.condition) for line in step.last_lines
    )
    return looks_spurious(result, lines)


def compare_sides(
    a: Side,
    b: Side,
    *,
    timing: TimingRule | None = None,
    hint: Callable[[RunData, PackageFinished | None], bool] = _network_hint,
) -> Comparison:
    """Pair the results of two sides and categorise each pair."""
    rule = timing or TimingRule()
    left, right = a.indexed(), b.indexed()
    pairs: list[Pair] = []
    for key in sorted(left.keys() | right.keys()):
        ra, rb = left.get(key), right.get(key)
        package = key[0]
        cond_a = a.condition or key[1] or DEFAULT_CONDITION
        cond_b = b.condition or key[1] or DEFAULT_CONDITION
        differs = ra is None or rb is None or compared_outcome(ra) != compared_outcome(rb)
        spurious_a = differs and hint(a.run, ra)
        spurious_b = differs and hint(b.run, rb)
        category = categorize(
            compared_outcome(ra),
            compared_outcome(rb),
            bucket_a=crash_bucket(ra),
            bucket_b=crash_bucket(rb),
            spurious_a=spurious_a,
            spurious_b=spurious_b,
        )
        if ra is not None and rb is not None and differs and (is_flaky(ra) or is_flaky(rb)):
            category = Category.SPURIOUS
        pairs.append(
            Pair(
                package=package,
                condition_a=cond_a,
                condition_b=cond_b,
                a=ra,
                b=rb,
                category=category,
                source_changed=source_changed(ra, rb),
                timing=timing_change(ra, rb, rule),
                spurious_a=spurious_a,
                spurious_b=spurious_b,
            )
        )
    order = {category: index for index, category in enumerate(CATEGORY_ORDER)}
    pairs.sort(key=lambda p: (order[p.category], p.package, p.condition))
    return Comparison(a=a, b=b, pairs=pairs, timing_rule=rule)


def compare_runs(
    run_a: RunData,
    run_b: RunData,
    *,
    condition_a: str | None = None,
    condition_b: str | None = None,
    timing: TimingRule | None = None,
) -> Comparison:
    """Compare two runs package by package (and condition by condition).

    With ``condition_a`` / ``condition_b``, only those conditions are compared, paired by
    package (give one and the other defaults to the same name).
    """
    if condition_a is not None or condition_b is not None:
        condition_a = condition_a or condition_b
        condition_b = condition_b or condition_a
    return compare_sides(Side(run_a, condition_a), Side(run_b, condition_b), timing=timing)


def compare_conditions(
    run: RunData, condition_a: str, condition_b: str, *, timing: TimingRule | None = None
) -> Comparison:
    """Compare two conditions of one run (an A/B run), paired by package."""
    return compare_sides(Side(run, condition_a), Side(run, condition_b), timing=timing)

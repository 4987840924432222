"""What a comparison can say about a package, and when a timing change is worth saying.

Apart from the comparison itself (``reporter.model.compare``) so that the command line
declares its options without importing the event models.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    """What happened to a package between side A and side B."""

    REGRESSED = "regressed"  # B crashes and A did not, or A passed and B fails
    NEW_CRASH_BUCKET = "new-crash-bucket"  # crashes on both sides, at a different site
    FIXED = "fixed"  # A crashed and B does not, or A failed and B passes
    SPURIOUS = "spurious"  # a change involving a timeout, hang, OOM or network failure
    BROKEN = "broken"  # B could not be tested (install, import, source, config error)
    NOW_TESTED = "now-tested"  # A never ran its tests; B did, and some fail
    STILL_BROKEN = "still-broken"  # the same non-passing state on both sides
    SKIPPED = "skipped"  # skipped on one side only
    MISSING = "missing"  # no result on one side
    SAME = "same"  # passes (or is skipped) on both sides


CATEGORY_ORDER: tuple[Category, ...] = tuple(Category)
"""Categories in reading order: what needs attention first."""


@dataclass(frozen=True)
class TimingRule:
    """A timing change is reported when the slower side takes at least ``ratio`` times the
    faster one and at least ``min_delta_s`` seconds more."""

    ratio: float = 1.5
    min_delta_s: float = 2.0

"""Where a bisection stands: which commit to test next, and what the verdicts prove.

Pure functions over the commits after `--good` (oldest first, `--bad` last) and the
verdicts known so far. The first bad commit lies after the last good commit before the
first bad one; a skipped commit (untestable) is never taken for good or bad, so when
skips are all that separate the two, the answer is the range, not a guess.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from normalized_events import BisectVerdict


@dataclass(frozen=True)
class Answer:
    """The commits one of which is the first bad one (one commit when it is known)."""

    candidates: tuple[str, ...]

    @property
    def first_bad(self) -> str | None:
        return self.candidates[0] if len(self.candidates) == 1 else None


def _bounds(commits: Sequence[str], verdicts: Mapping[str, BisectVerdict]) -> tuple[int, int]:
    """(index of the last good commit before the first bad one or -1, the first bad's index)."""
    bad = next((i for i, c in enumerate(commits) if verdicts.get(c) == "bad"), len(commits) - 1)
    good = max((i for i in range(bad) if verdicts.get(commits[i]) == "good"), default=-1)
    return good, bad


def next_commit(commits: Sequence[str], verdicts: Mapping[str, BisectVerdict]) -> str | None:
    """The untested commit nearest the middle of what is left, or None when done."""
    good, bad = _bounds(commits, verdicts)
    open_ = [i for i in range(good + 1, bad) if commits[i] not in verdicts]
    if not open_:
        return None
    middle = (good + bad) / 2
    return commits[min(open_, key=lambda i: (abs(i - middle), i))]


def answer(commits: Sequence[str], verdicts: Mapping[str, BisectVerdict]) -> Answer:
    good, bad = _bounds(commits, verdicts)
    return Answer(tuple(commits[good + 1 : bad + 1]))

"""A bisection from start to answer, resumable: every decided step is an event first.

The bisection's folder holds `events.jsonl`: the `bisect_*` events and the steps' own
`step_finished` events. A bisection started again on the same folder (same good, bad and
reproducer) reads the steps decided there and goes on from them: after Ctrl-C or
kill -9, no decided commit is tested again.

`--bad` is tested first: it must crash (in the bucket sought, when one is given; else
its crash's bucket becomes the one sought). `--good` must then not crash that way.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from normalized_events import (
    BisectFinished,
    BisectStarted,
    BisectStep,
    BisectVerdict,
    EventWriter,
    read_events,
)
from normalized_events.layout import EVENTS_FILE

from runner_core.bisect.errors import BisectError
from runner_core.bisect.search import answer, next_commit
from runner_core.bisect.testers import Tester
from runner_core.bisect.verdict import StepResult

EVENTS = EVENTS_FILE  # a bisection folder keeps its events as a run does

OnStep = Callable[[BisectStep, int], None]  # (the step, about how many steps are left)
# What a resumed bisection must share with the one it continues.
_SAME = ("target", "package", "repository", "good", "bad", "command")


@dataclass(frozen=True)
class BisectPlan:
    """What to bisect: the commits after good up to bad, and the crash sought."""

    started: BisectStarted  # run_id, target, package, repository, good, bad, command, ...
    commits: tuple[str, ...]  # oldest first, bad last
    subjects: dict[str, str]
    folder: Path


def _quiet(step: BisectStep, left: int) -> None:
    del step, left


def run_bisect(plan: BisectPlan, tester: Tester, on_step: OnStep = _quiet) -> BisectFinished:
    """Test the endpoints, then halve the range until the first bad commit is known."""
    started_at = time.monotonic()
    earlier, known = _decided(plan)
    session = _Session(plan, tester, on_step, known)
    bad = plan.started.bad
    head = earlier or plan.started
    found_bad = None if bad in known else session.check_bad(head.bucket)
    if found_bad is not None:
        head = head.model_copy(
            update={"bucket": found_bad.bucket, "signature": found_bad.signature}
        )
    with EventWriter(plan.folder / EVENTS, plan.started.run_id) as writer:
        session.writer = writer
        writer.emit(head.model_copy(update={"resumed": bool(known), "tries": plan.started.tries}))
        if found_bad is not None:
            session.record(bad, found_bad, endpoint=True)
        session.check_good(head.bucket)
        while (commit := next_commit(plan.commits, session.verdicts)) is not None:
            session.record(commit, session.test(commit, head.bucket))
        result = answer(plan.commits, session.verdicts)
        first = result.first_bad
        finished = BisectFinished(
            run_id=plan.started.run_id,
            first_bad=first,
            first_bad_subject=plan.subjects.get(first) if first else None,
            candidates=list(result.candidates),
            steps=len(known) + session.tested,
            wall_s=round(time.monotonic() - started_at, 2),
        )
        writer.emit(finished)
        return finished


def _decided(plan: BisectPlan) -> tuple[BisectStarted | None, dict[str, BisectStep]]:
    """The bisection this folder already holds, and its decided steps by commit."""
    path = plan.folder / EVENTS
    if not path.is_file():
        return None, {}
    events = read_events(path).known()
    starts = [e for e in events if isinstance(e, BisectStarted)]
    if not starts:
        return None, {}
    first = starts[0]
    for name in _SAME:
        if getattr(first, name) != getattr(plan.started, name):
            raise BisectError(
                f"{plan.folder}: holds a bisection with another {name} "
                f"({getattr(first, name)!r}); pick another --output to start a new one"
            )
    wanted = plan.started.bucket
    if wanted is not None and first.bucket is not None and wanted != first.bucket:
        raise BisectError(
            f"--bucket {wanted}: {plan.folder} bisects bucket {first.bucket}; "
            "pick another --output to start a new one"
        )
    return first, {e.commit: e for e in events if isinstance(e, BisectStep)}


@dataclass
class _Session:
    plan: BisectPlan
    tester: Tester
    on_step: OnStep
    known: dict[str, BisectStep]
    writer: EventWriter | None = None
    verdicts: dict[str, BisectVerdict] = field(default_factory=dict)
    tested: int = 0

    def __post_init__(self) -> None:
        commits = set(self.plan.commits)
        self.verdicts = {c: s.verdict for c, s in self.known.items() if c in commits}

    def test(self, commit: str, bucket: str | None) -> StepResult:
        began = time.monotonic()
        found = self.tester.test(commit, self.plan.started.tries, bucket)
        return dataclasses.replace(found, seconds=round(time.monotonic() - began, 2))

    def check_bad(self, bucket: str | None) -> StepResult:
        bad, tries = self.plan.started.bad, self.plan.started.tries
        found = self.test(bad, bucket)
        if found.verdict != "bad":
            where = f" in bucket {bucket}" if bucket else ""
            raise BisectError(
                f"--bad {bad[:12]} does not crash{where} in {tries} tries ({found.reason}): "
                "nothing to bisect"
            )
        return found

    def check_good(self, bucket: str | None) -> None:
        good = self.plan.started.good
        if good in self.known:
            return
        found = self.test(good, bucket)
        if found.verdict == "bad":
            raise BisectError(
                f"--good {good[:12]} already crashes in bucket {bucket} ({found.reason}): "
                "pass an older --good"
            )
        if found.verdict == "skip":
            raise BisectError(f"--good {good[:12]} cannot be tested: {found.reason}")
        self.record(good, found, endpoint=True)

    def record(self, commit: str, found: StepResult, *, endpoint: bool = False) -> None:
        assert self.writer is not None
        step = BisectStep(
            run_id=self.plan.started.run_id,
            commit=commit,
            subject=self.plan.subjects.get(commit, ""),
            verdict=found.verdict,
            reason=found.reason,
            tries=found.tries,
            bucket=found.bucket,
            duration_s=found.seconds,
            build_s=found.build_s,
            endpoint=endpoint,
        )
        written = self.writer.emit(step)
        assert isinstance(written, BisectStep)
        self.tested += 1
        if commit in self.plan.commits:
            self.verdicts[commit] = found.verdict
        self.on_step(written, self._left())

    def _left(self) -> int:
        open_ = len(answer(self.plan.commits, self.verdicts).candidates) - 1
        return math.ceil(math.log2(open_ + 1)) if open_ > 0 else 0

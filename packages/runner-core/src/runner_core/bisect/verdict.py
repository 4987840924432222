"""A step's verdict from its tries: bad when any try crashes in the bucket sought.

A crash that shows only now and then (a JIT's, often) is found by trying again: a step is
bad as soon as one try reproduces the crash, good only when every try ran the tests
without crashing (passing or failing), and skipped (neither) when a try could not tell:
an install that failed, a run that was stopped, a crash in another bucket.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from normalized_events import BisectVerdict

from runner_core.crash import bucket as crash_bucket
from runner_core.crash import signature as crash_signature
from runner_core.outcomes import Verdict

# The tests ran to their end: whatever they said, the crash did not happen.


@dataclass(frozen=True)
class StepResult:
    """What testing one commit found."""

    verdict: BisectVerdict
    reason: str
    tries: int
    bucket: str | None = None  # the bucket a crash showed (the one sought, or another)
    signature: str | None = None
    build_s: float | None = None
    seconds: float = 0.0  # the whole step's, set by the bisection


def untestable(reason: str, build_s: float | None = None) -> StepResult:
    """A commit that could not be tested at all (its build or its install failed)."""
    return StepResult("skip", reason, 0, build_s=build_s)


def try_step(run: Callable[[], Verdict], tries: int, bucket: str | None) -> StepResult:
    """Run the reproducer up to `tries` times; `bucket` None takes any crash (the bad
    endpoint, when no bucket was given: its crash becomes the one sought)."""
    seen: list[Verdict] = []
    for count in range(1, tries + 1):
        verdict = run()
        seen.append(verdict)
        crash = verdict.crash
        if crash is not None and bucket in (None, crash_bucket(crash)):
            return StepResult(
                "bad",
                f"crashed on try {count}: {verdict.reason or crash.headline}",
                count,
                crash_bucket(crash),
                crash_signature(crash),
            )
    return judge(seen)


def judge(seen: list[Verdict]) -> StepResult:
    """The verdict of tries none of which reproduced the crash sought."""
    for verdict in seen:
        if verdict.crash is not None:
            other = crash_bucket(verdict.crash)
            return StepResult(
                "skip",
                f"crashed elsewhere (bucket {other}): {verdict.reason}",
                len(seen),
                other,
                crash_signature(verdict.crash),
            )
        if not verdict.outcome.tested:
            why = f"{verdict.outcome.value}" + (f": {verdict.reason}" if verdict.reason else "")
            return StepResult("skip", why, len(seen))
    return StepResult("good", f"no crash in {len(seen)} run(s)", len(seen))

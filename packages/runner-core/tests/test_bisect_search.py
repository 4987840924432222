"""The bisection's search and its step verdicts, as tables of real inputs."""

from __future__ import annotations

import pytest
from normalized_events import BisectVerdict, Outcome
from runner_core.bisect import answer, judge, next_commit, try_step
from runner_core.crash import bucket, parse_crash
from runner_core.outcomes import Verdict

COMMITS = ("c1", "c2", "c3", "c4", "c5", "c6")


@pytest.mark.parametrize(
    ("verdicts", "expected_next", "candidates"),
    [
        # nothing known but bad (c6): the middle first
        ({"c6": "bad"}, "c3", COMMITS),
        # the first commit after --good is reached, never skipped over
        ({"c6": "bad", "c3": "bad", "c2": "bad"}, "c1", ("c1", "c2")),
        ({"c6": "bad", "c3": "bad", "c2": "bad", "c1": "bad"}, None, ("c1",)),
        # bad itself is the answer when everything before it is good
        ({"c6": "bad", "c3": "good", "c5": "good", "c4": "good"}, None, ("c6",)),
        # skips are never good or bad: the nearest untested commit is taken instead
        ({"c6": "bad", "c3": "skip"}, "c2", COMMITS),
        # only skips left between the last good and the first bad: the answer is a range
        ({"c6": "bad", "c2": "good", "c3": "skip", "c4": "skip"}, "c5", ("c3", "c4", "c5", "c6")),
        (
            {"c6": "bad", "c2": "good", "c3": "skip", "c4": "skip", "c5": "bad"},
            None,
            ("c3", "c4", "c5"),
        ),
        # a good after the first bad (a flaky step) does not move the lower bound past it
        ({"c6": "bad", "c2": "bad", "c4": "good", "c1": "good"}, None, ("c2",)),
    ],
)
def test_next_commit_and_answer(
    verdicts: dict[str, BisectVerdict], expected_next: str | None, candidates: tuple[str, ...]
) -> None:
    assert next_commit(COMMITS, verdicts) == expected_next
    found = answer(COMMITS, verdicts)
    if expected_next is None:
        assert found.candidates == candidates
        assert found.first_bad == (candidates[0] if len(candidates) == 1 else None)


SEGV_OUTPUT = (
    "Fatal Python error: Segmentation fault\n\nCurrent thread 0x00007f (most recent call first):\n"
    '  File "/v/lib/python3.13/ctypes/__init__.py", line 536 in string_at\n'
    '  File "/src/pkg/core.py", line 5 in _deref\n'
    '  File "/src/pkg/core.py", line 8 in work\n'
)
ABORT_OUTPUT = (
    "Fatal Python error: Aborted\n\nCurrent thread 0x00007f (most recent call first):\n"
    '  File "/src/pkg/core.py", line 3 in _elsewhere\n'
    '  File "/src/pkg/core.py", line 8 in work\n'
)


def _crashed(output: str, signal: int) -> Verdict:
    record = parse_crash(output, exit_code=None, signal=signal)
    assert record is not None
    return Verdict(outcome=Outcome.CRASH, reason=record.headline, crash=record)


SEGV = _crashed(SEGV_OUTPUT, 11)
ABORT = _crashed(ABORT_OUTPUT, 6)
PASSED = Verdict(outcome=Outcome.PASS)
FAILED = Verdict(outcome=Outcome.FAIL, reason="1 failed")
TIMED_OUT = Verdict(outcome=Outcome.TIMEOUT, reason="stopped after 60 s")


@pytest.mark.parametrize(
    ("runs", "tries", "verdict", "count", "reason"),
    [
        ([SEGV], 3, "bad", 1, "crashed on try 1"),
        ([PASSED, PASSED, SEGV], 5, "bad", 3, "crashed on try 3"),
        ([PASSED, FAILED, PASSED], 3, "good", 3, "no crash in 3 run(s)"),
        ([ABORT, PASSED, PASSED], 3, "skip", 3, "crashed elsewhere"),
        ([PASSED, TIMED_OUT], 2, "skip", 2, "timeout: stopped after 60 s"),
    ],
)
def test_a_step_is_bad_on_any_try_in_the_bucket(
    runs: list[Verdict], tries: int, verdict: str, count: int, reason: str
) -> None:
    queue = iter(runs)
    assert SEGV.crash is not None
    found = try_step(lambda: next(queue), tries, bucket(SEGV.crash))
    assert (found.verdict, found.tries) == (verdict, count)
    assert reason in found.reason


def test_without_a_bucket_any_crash_is_the_one_sought() -> None:
    found = try_step(lambda: ABORT, 3, None)
    assert ABORT.crash is not None
    assert found.verdict == "bad" and found.bucket == bucket(ABORT.crash)


def test_tries_that_never_ran_the_tests_are_not_good() -> None:
    assert judge([Verdict(outcome=Outcome.CONFIG_ERROR, reason="no tests ran")]).verdict == "skip"

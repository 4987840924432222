"""After a crash: does it reproduce, in which test, and is it the JIT's (or free threading's)?

The triage a JIT developer does by hand after every crash:

1. run just the test that was running when the process died (its node id or unittest
   id, from the evidence): `isolated` is reproduces, does-not-reproduce or not-tried;
   when it reproduces, the crash is reproducible: the test alone crashed the same way;
2. otherwise rerun the whole suite (`--crash-reruns` times): reproducible when every
   rerun crashes in the same bucket. A crash the test alone reproduces never pays for a
   second run of the whole suite, which on a real package is minutes;
3. on a JIT build, when the crash happened with the JIT on and reproduced, run the
   narrowest reproducer again with PYTHON_JIT=0: `jit_only` is True when it no longer
   crashes, False when it crashes in the same bucket, None (with the reason) otherwise;
   the same with PYTHON_GIL=1 on a free-threaded build (`gil_off_only`).

Each rerun is tried up to `tries` times: JIT crashes are often intermittent, so a crash
counts as reproduced when any try reproduces it, and as gone only when no try crashes.

A suite that hung (no output for the idle limit) with a thread still running or every
thread on a lock is a miscompiled loop as often as a crash is: with the JIT on, the whole
suite runs again (a hang seldom recurs in one test alone: the JIT needs the warm-up of the
tests before it); when it hangs at the same place again, it runs once more with
PYTHON_JIT=0, and `jit_only` is True when that run finishes (`triage_hang`). A suite
stopped at its time limit with a thread still spinning (a loop that prints as it goes
never trips the idle limit) is triaged the same way, unless it had too little CPU to tell
a loop from a busy machine. A hang with the JIT on whose spinning frame stands on a long
loop's back-edge is named as the JIT's known re-optimization livelock in the reason
(`runner_core.crash.backedge`), also when the rerun did not hang: that livelock needs a
collection due at one exact count, which a rerun may not meet again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from normalized_events import InterpreterInfo, IsolatedStatus, Outcome, Step

from runner_core.crash import CrashKind, CrashRecord, bucket
from runner_core.crash.backedge import long_backedges
from runner_core.evidence import one_test_command
from runner_core.settings import BackendChoice
from runner_core.suite import Attempt

Run = Callable[[Step, str, Mapping[str, str]], Attempt]


@dataclass(frozen=True)
class Attribution:
    """Whether the crash needs a feature on (the JIT, the GIL off); None when unknown."""

    only: bool | None
    reason: str


@dataclass
class Triage:
    """What the reruns after a crash found."""

    reruns: list[Attempt] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)  # every rerun of any kind, in order
    test_id: str | None = None
    isolated: IsolatedStatus = "not-tried"
    isolated_reason: str = ""
    isolated_command: str | None = None
    jit: Attribution = Attribution(None, "not tried")
    gil: Attribution = Attribution(None, "not tried")
    problems: list[str] = field(default_factory=list)
    reproducible: bool | None = None

    @property
    def reproducer_command(self) -> str | None:
        """The one-test command when it reproduced, else None (the whole suite)."""
        return self.isolated_command if self.isolated == "reproduces" else None


def triage(
    first: Attempt,
    attempts: Run,
    *,
    suite_command: str,
    crash_reruns: int,
    tries: int,
    interpreter: InterpreterInfo,
    env: Mapping[str, str],
    cwd: Path,
) -> Triage:
    """Rerun, narrow and attribute the crash of `first` (see the module doc)."""
    found = Triage(problems=list(first.evidence.problems))

    def run(step: Step, command: str, changes: Mapping[str, str]) -> Attempt:
        attempt = attempts(step, command, changes)
        found.attempts.append(attempt)
        return attempt

    test = first.evidence.test
    found.test_id = test.test_id if test is not None else None
    _isolate(found, first, run, tries, cwd)
    if found.isolated == "reproduces":
        found.reproducible = True
    else:
        found.reruns = [run(Step.RERUN, suite_command, {}) for _ in range(crash_reruns)]
        if found.reruns:
            found.reproducible = all(_same(r, first) for r in found.reruns)
    reproduced = found.isolated == "reproduces" or bool(found.reproducible)
    command = found.reproducer_command or suite_command
    found.jit = _attribute(first, run, command, tries, reproduced, _JIT, interpreter, env)
    found.gil = _attribute(first, run, command, tries, reproduced, _GIL, interpreter, env)
    return found


def _isolate(found: Triage, first: Attempt, run: Run, tries: int, cwd: Path) -> None:
    command, why = one_test_command(first.evidence.test, Path(cwd))
    if command is None:
        found.isolated, found.isolated_reason = "not-tried", why
        return
    found.isolated_command = command
    seen: list[Attempt] = []
    for _ in range(tries):
        again = run(Step.ISOLATE, command, {})
        seen.append(again)
        if _same(again, first):
            found.isolated = "reproduces"
            found.isolated_reason = f"the {why} alone crashes the same way"
            return
    found.isolated = "does-not-reproduce"
    found.isolated_reason = f"the {why} alone: " + _what_happened(seen, first)


@dataclass(frozen=True)
class _Feature:
    """A feature a crash may need: how to turn it off, and whether the build has it."""

    name: str
    step: Step
    variable: str
    off_value: str
    missing: str
    available: Callable[[InterpreterInfo], bool]


_JIT = _Feature(
    "the JIT",
    Step.JIT_OFF,
    "PYTHON_JIT",
    "0",
    "the interpreter has no JIT",
    lambda info: bool(info.jit_available),
)
_GIL = _Feature(
    "the GIL off",
    Step.GIL_ON,
    "PYTHON_GIL",
    "1",
    "not a free-threaded build",
    lambda info: info.free_threaded,
)


def _attribute(
    first: Attempt,
    run: Run,
    command: str,
    tries: int,
    reproduced: bool,
    feature: _Feature,
    interpreter: InterpreterInfo,
    env: Mapping[str, str],
) -> Attribution:
    variable, off_value, step = feature.variable, feature.off_value, feature.step
    if not feature.available(interpreter):
        return Attribution(None, feature.missing)
    if env.get(variable) == off_value:
        return Attribution(
            None, f"the crash happened without {feature.name} ({variable}={off_value})"
        )
    if not reproduced:
        return Attribution(
            None,
            f"the crash did not reproduce with {feature.name}, so a run without it proves nothing",
        )
    seen: list[Attempt] = []
    for _ in range(tries):
        again = run(step, command, {variable: off_value})
        seen.append(again)
        if _same(again, first):
            return Attribution(False, f"still crashes the same way with {variable}={off_value}")
    crashed = [a for a in seen if a.verdict.crash is not None]
    if crashed:
        other = crashed[-1].verdict
        return Attribution(None, f"crashes differently with {variable}={off_value}: {other.reason}")
    stopped = [a for a in seen if a.verdict.outcome in (Outcome.TIMEOUT, Outcome.HANG)]
    if stopped:
        return Attribution(
            None, f"with {variable}={off_value} the run was stopped: {stopped[-1].verdict.reason}"
        )
    return Attribution(True, f"no crash in {len(seen)} run(s) with {variable}={off_value}")


def _same(attempt: Attempt, first: Attempt) -> bool:
    if first.verdict.crash is None or attempt.verdict.crash is None:
        return False
    return bucket(attempt.verdict.crash) == bucket(first.verdict.crash)


def _what_happened(seen: list[Attempt], first: Attempt) -> str:
    outcomes = []
    for attempt in seen:
        verdict = attempt.verdict
        if verdict.crash is not None:
            outcomes.append(f"crashed elsewhere ({bucket(verdict.crash)}: {verdict.reason})")
        else:
            outcomes.append(
                f"{verdict.outcome.value}" + (f" ({verdict.reason})" if verdict.reason else "")
            )
    return "; ".join(outcomes)


@dataclass(frozen=True)
class HangTriage:
    """What the reruns after a hang found: did it recur, and is it the JIT's."""

    reproducible: bool | None
    jit: Attribution


def triage_hang(
    first: Attempt,
    attempts: Run,
    *,
    suite_command: str,
    interpreter: InterpreterInfo,
    env: Mapping[str, str],
    backend: BackendChoice = "auto",
) -> HangTriage:
    """Whether a hang needs the JIT: the suite again with it on, then with it off;
    ``backend`` is the sandbox the back-edge check (`_with_backedges`) compiles in."""
    hang = first.hang
    why_not = _not_a_loop(first)
    if hang is None or why_not is not None:
        return HangTriage(None, Attribution(None, why_not or "not a hang"))
    if not _JIT.available(interpreter):
        return HangTriage(None, Attribution(None, _JIT.missing))
    if env.get(_JIT.variable) == _JIT.off_value:
        return HangTriage(None, Attribution(None, "the hang happened without the JIT"))
    python = Path(interpreter.path)
    again = attempts(Step.RERUN, suite_command, {})
    if not _same_hang(again, hang):
        # the livelock waits for a collection at one exact count: it may not come again
        what = _what_happened([again], first) if again.hang is None else "hung elsewhere"
        gone = Attribution(None, f"the rerun with the JIT on: {what}")
        return HangTriage(False, _with_backedges(gone, hang, python, backend))
    attribution = _hang_without_jit(first, attempts, suite_command, hang)
    if attribution.only:
        attribution = _with_backedges(attribution, hang, python, backend)
    return HangTriage(True, attribution)


def _with_backedges(
    attribution: Attribution, hang: CrashRecord, python: Path, backend: BackendChoice
) -> Attribution:
    """A hang with the JIT on, on a long loop's back-edge: the known livelock, most
    likely (also when the rerun did not hang: the livelock is intermittent)."""
    frames = (t.frames[0] for t in hang.waiting_threads if t.frames)
    sites = long_backedges(python, frames, backend)
    if not sites:
        return attribution
    return Attribution(
        attribution.only,
        f"{attribution.reason}; spinning on a long loop's back-edge (EXTENDED_ARG; "
        f"JUMP_BACKWARD at {', '.join(sites)}): most likely the JIT's re-optimization "
        "livelock (gh-126127)",
    )


def _not_a_loop(first: Attempt) -> str | None:
    """Why the suite's stop cannot be a miscompiled loop; None when it may be one."""
    hang, outcome = first.hang, first.verdict.outcome
    if hang is None or outcome not in (Outcome.HANG, Outcome.TIMEOUT):
        return "not a hang"
    if outcome is Outcome.TIMEOUT:
        if hang.kind is not CrashKind.BUSY_HANG:
            return "stopped at the time limit with no thread running"
        return first.not_a_loop  # a loop holds a whole CPU
    if hang.kind not in (CrashKind.BUSY_HANG, CrashKind.DEADLOCK):
        return "every thread was asleep, none on a lock"
    return None


def _hang_without_jit(
    first: Attempt, attempts: Run, suite_command: str, hang: CrashRecord
) -> Attribution:
    off = attempts(_JIT.step, suite_command, {_JIT.variable: _JIT.off_value})
    if _same_hang(off, hang):
        return Attribution(False, f"hangs the same way with {_JIT.variable}=0")
    if off.verdict.outcome.verified:
        return Attribution(
            True,
            f"hung twice at the same place with the JIT on; with {_JIT.variable}=0 the suite "
            f"finished ({off.verdict.outcome.value})",
        )
    return Attribution(None, f"with {_JIT.variable}=0: " + _what_happened([off], first))


def _same_hang(attempt: Attempt, hang: CrashRecord) -> bool:
    return attempt.hang is not None and bucket(attempt.hang) == bucket(hang)

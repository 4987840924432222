"""Running a package's test command (the whole suite, or one test) with its evidence kept."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from normalized_events import CrashKind, Outcome, Step

from runner_core import outcomes
from runner_core.aslr import without_aslr
from runner_core.commands import Installer, plan_steps
from runner_core.crash.hang import ProcessStacks, hang_record, stopped_test_record
from runner_core.crash.record import CrashRecord
from runner_core.crash.signature import describe
from runner_core.environment import env_for_tests
from runner_core.evidence import (
    STACKS_SIGNAL,
    Evidence,
    RunningTest,
    StoppedTest,
    discard_empty_children,
    gather,
)
from runner_core.junit import JUNIT_NAME, junit_addopts
from runner_core.sanitizers import SanitizerPolicy
from runner_core.steps import StepOutcome, StepRunner


@dataclass(frozen=True)
class Attempt:
    """One run of a test command: its verdict, its output with the evidence merged in."""

    command: str
    verdict: outcomes.Verdict
    output: str
    evidence: Evidence
    step: StepOutcome
    # A suite stopped at a timeout: where its threads were (deadlock or busy_hang).
    hang: CrashRecord | None = None
    evidence_dir: Path | None = None
    # A wall-clock timeout whose processes had too little CPU to be a loop: the machine
    # was busy, or they were mostly asleep.
    not_a_loop: str | None = None


@dataclass
class SuiteRunner:
    """Everything needed to run the test command again, the same way, in the same venv."""

    runner: StepRunner
    python: Path
    installer: Installer
    uv: str | None
    cwd: Path
    base_env: Mapping[str, str]
    user_env: Mapping[str, str]
    pytest_addopts: str | None
    network: bool
    writable: Sequence[Path]
    timeout_s: float | None
    idle_timeout_s: float | None
    framework: str
    on_step: Callable[[StepOutcome], None]
    policy: SanitizerPolicy = field(default_factory=SanitizerPolicy)
    readable: Sequence[Path] = ()
    # Run the tests under `setarch -R` (ThreadSanitizer wants ASLR off).
    no_aslr: bool = False
    # Ask the runner for JUnit XML in the evidence folder (per-test outcomes).
    junit: bool = False
    # Let pytest-cov measure coverage (off by default: it keeps the JIT from compiling).
    keep_coverage: bool = False

    def env(
        self, evidence_dir: Path | None, changes: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """The test environment; with an evidence folder and `junit`, pytest also writes
        its JUnit XML there (per-test outcomes, see `runner_core.junit`)."""
        addopts = self.pytest_addopts
        if evidence_dir is not None and self.junit:
            addopts = junit_addopts(addopts, evidence_dir / JUNIT_NAME)
        env = env_for_tests(
            self.base_env, self.user_env, addopts, evidence_dir, self.policy, self.keep_coverage
        )
        env.update(changes or {})
        return env

    def attempt(
        self,
        step: Step,
        command: str,
        changes: Mapping[str, str] | None = None,
        label: str | None = None,
    ) -> Attempt:
        """Run `command` as step `step`, with `changes` over the test environment;
        `label` names the log and evidence folder of a step run more than once."""
        folder = self.runner.log_dir / "evidence" / (label or step.value)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        steps = plan_steps(command, self.python, self.installer, self.uv)
        done = self.runner.run(
            step,
            without_aslr(steps) if self.no_aslr else steps,
            cwd=self.cwd,
            env=self.env(folder, changes),
            network=self.network,
            writable=[*self.writable, folder],
            timeout_s=self.timeout_s,
            idle_timeout_s=self.idle_timeout_s,
            label=label,
            stack_signal=STACKS_SIGNAL,
            readable=self.readable,
        )
        self.on_step(done)
        evidence = gather(folder)
        discard_empty_children(folder)
        output = evidence.merged(done.output())
        _append_to_log(done.log_path, evidence)
        verdict = outcomes.classify_test(done.status, output, self.framework)
        hang = _hang(done, evidence)
        stopped = _stopped_by_pytest_timeout(verdict, evidence) if hang is None else None
        if stopped is not None:
            hang = stopped_test_record(stopped.frames)
            verdict = outcomes.Verdict(
                outcome=Outcome.HANG,
                reason=f"{verdict.reason}; pytest-timeout stopped {stopped.test_id}",
            )
            if evidence.test is None:
                evidence = replace(evidence, test=RunningTest("pytest", stopped.test_id))
        if hang is not None:
            verdict = verdict.model_copy(update={"reason": f"{verdict.reason}: {describe(hang)}"})
        not_a_loop = _not_a_loop(done, hang)
        if not_a_loop is not None:
            verdict = verdict.model_copy(update={"reason": f"{verdict.reason} ({not_a_loop})"})
        return Attempt(command, verdict, output, evidence, done, hang, folder, not_a_loop)


# Below this share of one CPU over its run, a suite stopped at the wall limit was not
# looping: a spinning thread holds a whole CPU.
_LOOP_SHARE = 0.5


def _not_a_loop(done: StepOutcome, hang: CrashRecord | None) -> str | None:
    """Why a suite stopped at the wall limit with a thread running is no loop: the CPU
    its processes had (children included, read before the kill) was too little, either
    because they waited for a CPU (a busy machine) or because they mostly slept."""
    result = done.result
    if result is None or not result.timed_out or done.duration_s <= 0:
        return None
    if hang is not None and hang.kind is not CrashKind.BUSY_HANG:
        return None  # asleep or on locks: little CPU is what such a hang uses
    usage = result.stopped_usage
    cpu = usage.cpu_s if usage is not None else result.cpu_s
    if cpu is None:
        return None
    share, seconds = cpu / done.duration_s, done.duration_s
    if share >= _LOOP_SHARE:
        return None
    waited = usage.runqueue_wait_s if usage is not None else None
    had = f"it had {share:.0%} of a CPU over {seconds:.0f} s"
    if waited is None:
        return f"{had}: the machine was busy, see --timeout-scale"
    if waited < cpu:
        return f"{had} and waited {waited:.0f} s for one: mostly asleep, not a loop"
    return f"{had} and waited {waited:.0f} s for one: the machine was busy, see --timeout-scale"


def _stopped_by_pytest_timeout(verdict: outcomes.Verdict, evidence: Evidence) -> StoppedTest | None:
    """A failed suite one of whose tests pytest-timeout stopped while it was running (a
    loop that never ends: the JIT's livelock, say), not while it waited."""
    if verdict.outcome is not Outcome.FAIL:
        return None
    return next((t for t in evidence.stopped_tests if t.busy and t.frames), None)


def _hang(done: StepOutcome, evidence: Evidence) -> CrashRecord | None:
    """Where a suite stopped at a timeout was, from the stacks it gave before the kill."""
    result = done.result
    if result is None or not (result.timed_out or result.idle_timed_out):
        return None
    states = {p.namespace_pid: p for p in result.stacks_from}
    answers = []
    for pid, text in evidence.stacks:
        process = states.get(pid)
        answers.append(
            ProcessStacks(
                pid,
                text,
                process.threads if process else None,
                process.running_threads if process else None,
                process.lock_waiting_threads if process else None,
            )
        )
    return hang_record(answers)


def _append_to_log(log: Path, evidence: Evidence) -> None:
    """The step's log shows what the evidence folder kept, and what could not be read."""
    lines = [f"apiary: evidence: {problem}" for problem in evidence.problems]
    extra = evidence.extra_text()
    if not lines and not extra:
        return
    try:
        with log.open("a", encoding="utf-8") as handle:
            handle.write("\n".join([*lines, *([extra] if extra else [])]) + "\n")
    except OSError:
        pass

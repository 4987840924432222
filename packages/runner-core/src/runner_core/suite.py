"""Running a package's test command (the whole suite, or one test) with its evidence kept."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from normalized_events import Step

from runner_core import outcomes
from runner_core.commands import Installer, plan_steps
from runner_core.environment import env_for_tests
from runner_core.evidence import Evidence, gather
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

    def env(
        self, evidence_dir: Path | None, changes: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        env = env_for_tests(
            self.base_env, self.user_env, self.pytest_addopts, evidence_dir, self.policy
        )
        env.update(changes or {})
        return env

    def attempt(
        self, step: Step, command: str, changes: Mapping[str, str] | None = None
    ) -> Attempt:
        """Run `command` as step `step`, with `changes` over the test environment."""
        folder = self.runner.log_dir / "evidence" / step.value
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        done = self.runner.run(
            step,
            plan_steps(command, self.python, self.installer, self.uv),
            cwd=self.cwd,
            env=self.env(folder, changes),
            network=self.network,
            writable=[*self.writable, folder],
            timeout_s=self.timeout_s,
            idle_timeout_s=self.idle_timeout_s,
        )
        self.on_step(done)
        evidence = gather(folder)
        output = evidence.merged(done.output())
        _append_to_log(done.log_path, evidence)
        verdict = outcomes.classify_test(done.status, output, self.framework)
        return Attempt(command, verdict, output, evidence, done)


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

"""Running one pipeline step: its commands under the sandbox, its log, its event."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from normalized_events import EventWriter, Step, StepFinished
from normalized_events.files import read_tail
from sandbox_runner import (
    EnvPolicy,
    Isolation,
    Limits,
    SandboxResult,
    SandboxSpec,
    run_sandboxed,
)
from sandbox_runner.spec import DEFAULT_PROCESSES, DEFAULT_TMP_BYTES, MemoryLimitKind

from runner_core.commands import CommandStep
from runner_core.isolation import sandbox_backend
from runner_core.outcomes import StepStatus
from runner_core.planted import git_folders, refuse_links
from runner_core.settings import BackendChoice

_TAIL_LINES = 30


@dataclass
class StepOutcome:
    """What a step did: the last command's result (the failing one, if any)."""

    step: Step
    ok: bool
    duration_s: float
    log_path: Path
    result: SandboxResult | None = None
    commands: list[str] = field(default_factory=list)

    @property
    def status(self) -> StepStatus:
        """How the step's last command ended, for the outcome classifiers."""
        result = self.result
        if result is None:
            return StepStatus(exit_code=None)
        return StepStatus(
            exit_code=result.exit_code,
            signal=result.signal,
            timed_out=result.timed_out,
            idle_timed_out=result.idle_timed_out,
            oom_suspected=result.oom_suspected,
            limit=limit_reason(result),
        )

    def output(self, limit: int = 2_000_000) -> str:
        """The step's log text (the tail, when it is very large)."""
        try:
            return read_tail(self.log_path, limit)[0].decode("utf-8", "replace")
        except OSError:
            return ""


@dataclass
class StepRunner:
    """Runs the steps of one package and condition, writing logs and events."""

    writer: EventWriter
    package: str
    condition: str
    log_dir: Path
    run_dir: Path
    backend: BackendChoice
    memory_bytes: int | None = None
    memory_limit: MemoryLimitKind = "rlimit_as"
    # Variables the user set or named on purpose: they pass the sandbox's allowlist.
    pass_env: tuple[str, ...] = ()
    processes: int | None = DEFAULT_PROCESSES
    tmp_bytes: int = DEFAULT_TMP_BYTES
    disk_bytes: int | None = None
    # Set once a command was stopped for filling the disk: its trees need a reset.
    filled_disk: bool = False
    # Folders made by apiary or given by the user: below them, no folder a command works
    # in or may write is reached through a link (`planted.refuse_links`).
    trusted: tuple[Path, ...] = ()

    def log_path(self, step: Step, label: str | None = None) -> Path:
        """`<step>.log`, or `<label>.log` for a step run more than once (`test-2`)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return self.log_dir / f"{label or step.value}.log"

    def python_step(
        self, step: Step, description: str, action: Callable[[Callable[[str], None]], None]
    ) -> StepOutcome:
        """A step done by apiary itself (fetching a source): logged like the others."""
        log_path = self.log_path(step)
        started = time.monotonic()
        with log_path.open("w", encoding="utf-8") as log:

            def write(line: str) -> None:
                log.write(line.rstrip("\n") + "\n")

            ok = True
            try:
                action(write)
            except Exception as exc:
                write(f"error: {exc}")
                ok = False
                raise
            finally:
                duration = time.monotonic() - started
                self._event(step, description, duration, log_path, None, ok)
        return StepOutcome(step, ok, duration, log_path, None, [description])

    def run(
        self,
        step: Step,
        commands: Sequence[CommandStep],
        *,
        cwd: Path,
        env: Mapping[str, str],
        network: bool,
        writable: Sequence[Path],
        timeout_s: float | None,
        idle_timeout_s: float | None,
        readable: Sequence[Path] = (),
        label: str | None = None,
        stack_signal: int | None = None,
    ) -> StepOutcome:
        """Run commands one after another until one fails; one log, one event.

        `label` names the log of a step run more than once; `stack_signal` is sent to
        the processes that catch it before a timeout's kill (see sandbox_runner).
        """
        log_path = self.log_path(step, label)
        log_path.write_bytes(b"")
        started = time.monotonic()
        shown: list[str] = []
        result: SandboxResult | None = None
        spent: list[SandboxResult] = []
        for command in commands:
            command_cwd = cwd / command.cwd if command.cwd else cwd
            # Checked before each command: the one before may have planted a link.
            refuse_links(self.trusted, command_cwd, "working folder")
            for path in writable:
                refuse_links(self.trusted, path, "writable folder")
            shown.append(command.display())
            part = log_path.with_suffix(".part")
            remaining = (
                None if timeout_s is None else max(1.0, timeout_s - (time.monotonic() - started))
            )
            spec = SandboxSpec(
                command=command.shell if command.shell is not None else list(command.argv),
                cwd=command_cwd,
                env={**env, **command.env},
                limits=Limits(
                    timeout_s=remaining,
                    idle_timeout_s=idle_timeout_s,
                    memory_bytes=self.memory_bytes,
                    memory_limit=self.memory_limit,
                    processes=self.processes,
                    tmp_bytes=self.tmp_bytes,
                    disk_bytes=self.disk_bytes,
                ),
                isolation=Isolation(
                    backend=sandbox_backend(self.backend),
                    network=network,
                    writable=tuple(writable),
                    readable=(*readable, *git_folders((command_cwd, *writable))),
                ),
                env_policy=EnvPolicy(allow=(*self.pass_env, *command.env)),
                stdout_log=part,
                stderr_log=None,
                stack_signal=stack_signal,
            )
            result = run_sandboxed(spec)
            spent.append(result)
            self.filled_disk |= result.disk_limit_hit
            if result.interrupted:
                # apiary is being stopped: this package is not finished, a resume redoes it.
                raise KeyboardInterrupt
            with log_path.open("ab") as log:
                log.write(f"$ {command.display()}\n".encode())
                log.write(part.read_bytes())
            part.unlink(missing_ok=True)
            if not _succeeded(result):
                break
        duration = time.monotonic() - started
        ok = result is None or _succeeded(result)
        result = _whole_step(result, spent)
        self._event(step, " && ".join(shown), duration, log_path, result, ok, timeout_s)
        return StepOutcome(step, ok, duration, log_path, result, shown)

    def _event(
        self,
        step: Step,
        command: str,
        duration: float,
        log_path: Path,
        result: SandboxResult | None,
        ok: bool,
        timeout_s: float | None = None,
    ) -> None:
        tail: list[str] = []
        if result is not None:
            tail = list(result.stdout_tail)[-_TAIL_LINES:]
        elif not ok:
            tail = log_path.read_text(errors="replace").splitlines()[-_TAIL_LINES:]
        self.writer.emit(
            StepFinished(
                run_id=self.writer.run_id,
                package=self.package,
                condition=self.condition,
                step=step,
                command=command,
                exit_code=None if result is None else result.exit_code,
                signal=None if result is None else result.signal,
                duration_s=round(duration, 4),
                cpu_s=None if result is None else result.cpu_s,
                peak_rss_bytes=None if result is None else result.peak_rss_bytes,
                timed_out=bool(result and result.timed_out),
                idle_timed_out=bool(result and result.idle_timed_out),
                timeout_s=timeout_s,
                log_path=str(log_path.relative_to(self.run_dir)),
                last_lines=tail,
            )
        )


def limit_reason(result: SandboxResult) -> str | None:
    """Why the sandbox's resource limits ended or broke the command, if they did."""
    if result.disk_limit_hit:
        return f"resource limit: stopped by the sandbox ({result.limit_note})"
    if result.process_limit_hit and not _succeeded(result):
        return f"resource limit: fork refused ({result.process_limit})"
    return None


def _succeeded(result: SandboxResult) -> bool:
    return (
        result.exit_code == 0
        and result.signal is None
        and not result.timed_out
        and not result.idle_timed_out
        and not result.disk_limit_hit
    )


def _whole_step(last: SandboxResult | None, spent: list[SandboxResult]) -> SandboxResult | None:
    """The last command's result, with the CPU time of every command of the step and the
    highest peak RSS of them (an install's own work, not just its last command's)."""
    if last is None or len(spent) < 2:
        return last
    cpu = [r.cpu_s for r in spent if r.cpu_s is not None]
    rss = [r.peak_rss_bytes for r in spent if r.peak_rss_bytes is not None]
    return last.model_copy(
        update={
            "cpu_s": round(sum(cpu), 6) if cpu else last.cpu_s,
            "peak_rss_bytes": max(rss) if rss else last.peak_rss_bytes,
        }
    )

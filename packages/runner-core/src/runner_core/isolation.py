"""Whether a run's commands will be isolated, decided once before the run starts.

`--sandbox auto` uses bubblewrap when it works here and otherwise runs every command
with no isolation at all (process group and rlimits only): that is never silent, the
check's `warning` is printed, kept in run.json and in the run_started event, and shown
by the report. `--sandbox require` (for CI) and `--sandbox bwrap` refuse to run instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox_runner import Isolation, SandboxError, choose_backend
from sandbox_runner.spec import BackendName

from runner_core.errors import OptionError
from runner_core.settings import BackendChoice


@dataclass(frozen=True)
class SandboxCheck:
    """The backend the run's commands get, and why."""

    asked: BackendChoice
    used: str
    reason: str

    @property
    def isolated(self) -> bool:
        return self.used != "none"

    @property
    def warning(self) -> str | None:
        """The loud line for a run that asked for isolation and does not get it."""
        if self.isolated or self.asked == "none":
            return None
        return (
            "WARNING: NO SANDBOX: package code runs with this user's rights, sees the whole "
            f"host and its network ({self.reason}); fix it (see apiary doctor) or use "
            "--sandbox require to refuse"
        )

    def as_json(self) -> dict[str, object]:
        return {
            "asked": self.asked,
            "used": self.used,
            "isolated": self.isolated,
            "reason": self.reason,
        }


def sandbox_backend(choice: BackendChoice) -> BackendName:
    """The sandbox-runner backend name for a run's `--sandbox` choice."""
    return "bwrap" if choice == "require" else choice


def check_sandbox(choice: BackendChoice, bwrap: str = "bwrap") -> SandboxCheck:
    """What `choice` gives here; `OptionError` when isolation is required and impossible."""
    backend = sandbox_backend(choice)
    try:
        chosen, reason = choose_backend(Isolation(backend=backend, bwrap_executable=bwrap))
    except SandboxError as exc:
        raise OptionError(f"--sandbox {choice}: refusing to run unisolated: {exc}") from None
    return SandboxCheck(asked=choice, used=chosen.name, reason=reason)

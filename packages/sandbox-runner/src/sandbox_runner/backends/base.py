"""The interface every isolation backend implements.

A backend turns the command into the argv that runs it isolated, and knows how to kill
everything the command started. The runner does the rest (spawning, limits, output,
timeouts, the in-namespace reaper) the same way for all of them. A container backend
(podman, docker) fits the same shape: `wrap` builds `podman run --rm -i ...`,
`needs_reaper` is true, `kill_tree` also stops the container.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sandbox_runner.result import UsedBackend
from sandbox_runner.spec import DEFAULT_SHM_BYTES, DEFAULT_TMP_BYTES


@dataclass(frozen=True)
class Launch:
    """Everything a backend needs to wrap one command."""

    argv: list[str]
    cwd: Path
    writable: tuple[Path, ...]
    network: bool
    # Visible read-only: what the spec asks for, the reaper's interpreter, the programs.
    readable: tuple[Path, ...] = ()
    # Sizes of the private /tmp and /dev/shm (backends that make them).
    tmp_bytes: int = DEFAULT_TMP_BYTES
    shm_bytes: int = DEFAULT_SHM_BYTES


class Backend(Protocol):
    @property
    def name(self) -> UsedBackend: ...

    @property
    def needs_reaper(self) -> bool:
        """Whether the command runs where apiary cannot wait for it (a PID namespace), so
        the runner must start it under the reaper (`reaper.py`) to learn its status and usage."""
        ...

    def wrap(self, launch: Launch) -> list[str]:
        """The argv to exec (in `launch.cwd`, own session, rlimits already applied)."""
        ...

    def isolates_network(self, launch: Launch) -> bool:
        """Whether the command runs without the host's network."""
        ...

    def kill_tree(self, pgid: int, marker: str) -> None:
        """SIGKILL the command and every process it started, wherever they went.

        `pgid` is the process group (and PID) of the spawned argv; `marker` is the value
        of `APIARY_SANDBOX_ID` in the command's environment. Called on timeouts, on
        interruption, and after every command to take down what it left running.
        """
        ...

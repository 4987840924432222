"""The `none` backend: the command in its own process group, bounded by rlimits only.

It cannot take the network away nor make the host read-only. Killing reaches the process
group, then every process still carrying the sandbox's `APIARY_SANDBOX_ID` (descendants
that called `setsid()`); a descendant that both left the session and cleared its
environment escapes. If apiary is killed with SIGKILL, only the direct child dies with it
(PR_SET_PDEATHSIG); `sweep_orphans()` cleans the rest up later.
"""

from __future__ import annotations

import contextlib
import os
import signal

from sandbox_runner.backends.base import Launch
from sandbox_runner.procscan import kill_marked
from sandbox_runner.result import UsedBackend


class NoneBackend:
    @property
    def name(self) -> UsedBackend:
        return "none"

    @property
    def needs_reaper(self) -> bool:
        return False

    def wrap(self, launch: Launch) -> list[str]:
        return list(launch.argv)

    def isolates_network(self, launch: Launch) -> bool:
        return False

    def kill_tree(self, pgid: int, marker: str) -> None:
        kill_group(pgid)
        kill_marked(marker)


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)

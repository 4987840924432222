"""How a stopped command's processes used the CPU, read from /proc before the kill.

`wait4` gives the usage of the command and of the descendants it waited for. A command
stopped at a time limit is killed with its children unreaped, so their CPU time never
reaches it: a suite whose worker process spins while the parent waits looks idle. Read
while they live, every marked process gives its own CPU time (and its reaped children's)
and how long its threads waited on a run queue for a CPU, which is what tells a starved
command from a sleeping one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from sandbox_runner.procscan import stat_fields

_PROC = Path("/proc")
# Fields 14-17 of /proc/PID/stat, counted after the command name: utime, stime,
# cutime, cstime, in clock ticks.
_TIMES = slice(11, 15)


class TreeUsage(BaseModel):
    """CPU seconds of the processes, and seconds their threads waited for a CPU (None
    where the kernel keeps no scheduler statistics)."""

    model_config = ConfigDict(frozen=True)

    cpu_s: float
    runqueue_wait_s: float | None


def tree_usage(pids: Iterable[int]) -> TreeUsage:
    """The usage of these live processes, summed; a process gone meanwhile counts 0."""
    ticks = os.sysconf("SC_CLK_TCK")
    cpu, wait, waits_known = 0.0, 0.0, False
    for pid in pids:
        cpu += _cpu_ticks(pid) / ticks
        waited = _runqueue_wait_ns(pid)
        if waited is not None:
            wait, waits_known = wait + waited / 1e9, True
    return TreeUsage(cpu_s=round(cpu, 3), runqueue_wait_s=round(wait, 3) if waits_known else None)


def _cpu_ticks(pid: int) -> int:
    fields = stat_fields(_PROC / str(pid) / "stat")
    return sum(int(v) for v in fields[_TIMES]) if fields else 0


def _runqueue_wait_ns(pid: int) -> int | None:
    """Nanoseconds the process's live threads spent runnable but not running."""
    try:
        tasks = list((_PROC / str(pid) / "task").iterdir())
    except OSError:
        return None
    total, known = 0, False
    for task in tasks:
        try:
            fields = (task / "schedstat").read_text().split()
        except OSError:
            continue
        total, known = total + int(fields[1]), True
    return total if known else None

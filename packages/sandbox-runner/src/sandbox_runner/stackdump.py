"""Asking a stopped command's processes for their stacks before the tree is killed.

A hung test suite says nothing about why it hangs once it is dead. When a spec names a
`stack_signal`, a timeout (wall or idle) first sends that signal to every process of the
sandbox that catches it (the `SigCgt` mask of `/proc/PID/status`: a process that would
die of the signal, a shell for instance, is left alone), waits `stack_wait_s` for them to
write, and only then kills the tree. What each process writes, and where, is up to it
(an interpreter with `faulthandler.register` on that signal dumps every thread).

The state of each thread just before the signal is kept too: how many were running, and
how many were asleep in a futex wait (a lock, a condition: `wchan` names the kernel
function a thread sleeps in). A tree whose threads all wait on locks is deadlocked; one
with a running thread is busy; the rest sleep on a timer or on I/O.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from sandbox_runner.procscan import stat_fields

_PROC = Path("/proc")
# Thread states that mean "on a CPU or about to be" (see proc(5), field 3 of stat).
_RUNNING = frozenset({"R"})


class SignalledProcess(BaseModel):
    """One process that was asked for its stacks: its PIDs and its threads' states."""

    model_config = ConfigDict(frozen=True)

    pid: int
    namespace_pid: int
    threads: int
    running_threads: int
    lock_waiting_threads: int = 0


def catches(pid: int, signum: int) -> bool:
    """Whether `pid` has a handler for `signum` (bit signum-1 of SigCgt)."""
    mask = _status_field(pid, "SigCgt")
    if mask is None:
        return False
    return bool(int(mask, 16) >> (signum - 1) & 1)


def thread_states(pid: int) -> list[tuple[str, str]]:
    """(state letter, wait channel) of each thread of `pid`: `R` running, `S` sleeping,
    ...; the channel is the kernel function it sleeps in (`futex_do_wait`), or ""."""
    states = []
    try:
        tasks = list((_PROC / str(pid) / "task").iterdir())
    except OSError:
        return []
    for task in tasks:
        fields = stat_fields(task / "stat")
        if not fields:
            continue
        try:
            channel = (task / "wchan").read_text().strip()
        except OSError:
            channel = ""
        states.append((fields[0], channel))
    return states


def namespace_pid(pid: int) -> int:
    """`pid` as the processes of its own PID namespace see it (the last of NSpid)."""
    found = _status_field(pid, "NSpid")
    return int(found.split()[-1]) if found else pid


def signal_for_stacks(pids: Iterable[int], signum: int, wait_s: float) -> list[SignalledProcess]:
    """Send `signum` to those of `pids` (a command's marked processes) that catch it,
    then give them `wait_s`."""
    signalled = []
    for pid in pids:
        if not catches(pid, signum):
            continue
        states = thread_states(pid)
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            continue
        signalled.append(
            SignalledProcess(
                pid=pid,
                namespace_pid=namespace_pid(pid),
                threads=len(states),
                running_threads=sum(1 for s, _ in states if s in _RUNNING),
                lock_waiting_threads=sum(
                    1 for s, c in states if s not in _RUNNING and "futex" in c
                ),
            )
        )
    if signalled:
        time.sleep(wait_s)
    return signalled


def _status_field(pid: int, name: str) -> str | None:
    try:
        text = (_PROC / str(pid) / "status").read_text()
    except OSError:
        return None
    prefix = f"{name}:"
    for line in text.splitlines():
        if line.startswith(prefix):
            return line[len(prefix) :].strip()
    return None

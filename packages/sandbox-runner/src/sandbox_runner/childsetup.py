"""What the child process does between fork and exec: resource limits and parent-death signal.

Runs as subprocess's `preexec_fn`, after `setsid()` (start_new_session). Everything it
needs is computed before the fork, so the child only makes system calls.
"""

from __future__ import annotations

import ctypes
import functools
import os
import resource
import signal
from collections.abc import Callable
from pathlib import Path

from sandbox_runner.pidlimit import join_group
from sandbox_runner.spec import Limits

_PR_SET_PDEATHSIG = 1
# Between SIGXCPU at the soft CPU limit and SIGKILL at the hard one.
CPU_GRACE_S = 5

RlimitPlan = list[tuple[int, tuple[int, int]]]


def rlimit_plan(limits: Limits) -> RlimitPlan:
    """The `(resource, (soft, hard))` pairs to set in the child."""
    plan: RlimitPlan = [(resource.RLIMIT_CORE, (0, 0))]
    if limits.memory_bytes is not None and limits.memory_limit == "rlimit_as":
        plan.append((resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes)))
    if limits.cpu_s is not None:
        plan.append((resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + CPU_GRACE_S)))
    if limits.fsize_bytes is not None:
        plan.append((resource.RLIMIT_FSIZE, (limits.fsize_bytes, limits.fsize_bytes)))
    return plan


@functools.cache
def _load_prctl() -> Callable[..., int] | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl: Callable[..., int] = libc.prctl
    except (OSError, AttributeError):
        return None
    return prctl


def make_preexec(
    limits: Limits, *, pids_group: tuple[Path, int] | None = None, nproc: int | None = None
) -> Callable[[], None]:
    """The function the child runs before exec.

    It asks the kernel to SIGKILL the child when the thread that started it dies
    (PR_SET_PDEATHSIG: so `kill -9` of apiary takes the direct child down; run sandboxes
    from threads that outlive them), exits at once if that parent is already gone, joins
    the pids cgroup `pids_group` (its folder and limit), and applies the rlimits
    (RLIMIT_NPROC too when `nproc` is given), lowering the hard limit only where it is
    above the new one.
    """
    plan = rlimit_plan(limits)
    if nproc is not None:
        plan.append((resource.RLIMIT_NPROC, (nproc, nproc)))
    prctl = _load_prctl()
    parent = os.getpid()
    current = {which: resource.getrlimit(which) for which, _ in plan}

    def preexec() -> None:
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:
            os._exit(137)
        if pids_group is not None:
            join_group(*pids_group)
        for which, (soft, hard) in plan:
            old_hard = current[which][1]
            if old_hard != resource.RLIM_INFINITY and old_hard < hard:
                resource.setrlimit(which, (min(soft, old_hard), old_hard))
            else:
                resource.setrlimit(which, (soft, hard))

    return preexec


def die_with_parent(signum: int = signal.SIGTERM) -> bool:
    """Have the kernel send `signum` to this process when its parent dies (Linux).

    For worker processes that run sandboxes: with the default SIGTERM and the handlers of
    `terminate_on_signals` (entered by `run_sandboxed` in the main thread), a worker whose
    apiary was killed with SIGKILL takes its sandboxes down before it exits. Call it in
    the worker's main thread; the signal is sent when the thread that started the worker
    exits. Returns False where prctl is unavailable. If the parent is already gone, the
    signal is sent at once.
    """
    prctl = _load_prctl()
    if prctl is None:
        return False
    parent = os.getppid()
    if prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0) != 0:
        return False
    if os.getppid() != parent:
        os.kill(os.getpid(), signum)
    return True

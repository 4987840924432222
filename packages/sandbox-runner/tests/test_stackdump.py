"""Stacks before a timeout's kill: the processes that catch the signal get it, the rest die."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from pathlib import Path

from sandbox_runner import SandboxResult

STACKS = signal.SIGRTMIN + 4

# Two threads each holding one lock and waiting for the other's; faulthandler answers
# the signal with every thread's stack into stacks.txt.
DEADLOCK = f"""
import faulthandler, sys, threading
out = open(sys.argv[1], "w")
faulthandler.register({STACKS}, file=out, all_threads=True)
a, b = threading.Lock(), threading.Lock()
both = threading.Barrier(2)
def take_a_then_b():
    with a:
        both.wait()
        with b: pass
def take_b_then_a():
    with b:
        both.wait()
        with a: pass
threads = [threading.Thread(target=f) for f in (take_a_then_b, take_b_then_a)]
for t in threads: t.start()
print("started", flush=True)
for t in threads: t.join()
"""

BUSY = f"""
import faulthandler, sys
faulthandler.register({STACKS}, file=open(sys.argv[1], "w"), all_threads=True)
print("spinning", flush=True)
def spin():
    while True: pass
spin()
"""


def test_a_deadlocked_tree_gives_its_stacks_then_dies(
    run: Callable[..., SandboxResult],
    backend: str,
    work: Path,
    alive: Callable[[], list[int]],
) -> None:
    stacks = work / "stacks.txt"
    # sh in front: it does not catch the signal, so it is not sent one
    command = f"{sys.executable} -c '{DEADLOCK}' {stacks}; echo never"
    result = run(command, backend=backend, idle_timeout_s=2, timeout_s=120, stack_signal=STACKS)
    assert result.idle_timed_out
    [process] = result.stacks_from
    assert process.threads == 3
    assert process.running_threads == 0
    assert process.lock_waiting_threads == 3  # two on the locks, the main one in join()
    text = stacks.read_text()
    assert "in take_a_then_b" in text and "in take_b_then_a" in text
    assert "never" not in result.stdout_log.read_text()
    assert alive() == []


def test_a_busy_process_shows_a_running_thread(
    run: Callable[..., SandboxResult], backend: str, work: Path, alive: Callable[[], list[int]]
) -> None:
    stacks = work / "stacks.txt"
    result = run(
        [sys.executable, "-c", BUSY, str(stacks)],
        backend=backend,
        idle_timeout_s=2,
        timeout_s=120,
        stack_signal=STACKS,
    )
    [process] = result.stacks_from
    assert process.running_threads == 1
    assert process.lock_waiting_threads == 0
    assert "in spin" in stacks.read_text()
    assert alive() == []


def test_without_a_stack_signal_nothing_is_asked(
    run: Callable[..., SandboxResult], backend: str
) -> None:
    result = run("echo first; sleep 600", backend=backend, idle_timeout_s=1, timeout_s=120)
    assert result.idle_timed_out
    assert result.stacks_from == []


def test_a_sleeping_process_waits_on_no_lock(
    run: Callable[..., SandboxResult], backend: str, work: Path
) -> None:
    code = (
        f"import faulthandler, sys, time\n"
        f"faulthandler.register({STACKS}, file=open(sys.argv[1], 'w'), all_threads=True)\n"
        "print('sleeping', flush=True)\n"
        "time.sleep(600)\n"
    )
    result = run(
        [sys.executable, "-c", code, str(work / "stacks.txt")],
        backend=backend,
        idle_timeout_s=2,
        timeout_s=120,
        stack_signal=STACKS,
    )
    [process] = result.stacks_from
    assert (process.running_threads, process.lock_waiting_threads) == (0, 0)

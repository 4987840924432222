"""A hung suite's stacks, asked for before the kill, as a record with a signature.

Every interpreter of the suite answers apiary's stacks signal with a faulthandler dump
of all its threads (`runner_core.evidence`), and the sandbox notes each thread's state
just before (`sandbox_runner.stackdump`):

- `deadlock`: every thread of every process that answered was asleep on a lock (a
  futex wait), two locks taken in opposite order being the classic;
- `busy_hang`: a thread was running (a loop that never ends);
- `blocked`: all asleep, not all on locks (a long sleep, a read that never returns):
  silence alone is not called a deadlock.

The signature (`runner_core.crash.signature`) names, for each thread, the innermost
frame of the code under test: the harness's frames and the standard library's waiting
machinery (`threading`, `queue`, `selectors`, ...) are skipped, so a thread blocked in
`Lock.acquire` under `with lock:` is named by the function that holds the `with`. When no
thread has a frame under test (a loop inside pluggy), the harness's innermost frames name
the sites.
The names are sorted and de-duplicated, so the order threads were started in, their
ids and the paths never matter: two packages hanging at the same site share a bucket.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from normalized_events import CrashKind

from runner_core.crash.faulthandler import find_dumps
from runner_core.crash.record import CrashRecord, PythonFrame, ThreadStack


@dataclass(frozen=True)
class ProcessStacks:
    """One process's answer: its pid (as it saw itself), its dump text, its threads' state."""

    pid: int
    text: str
    threads: int | None = None
    running_threads: int | None = None
    lock_waiting_threads: int | None = None

    @property
    def all_on_locks(self) -> bool:
        return self.threads is not None and self.lock_waiting_threads == self.threads


def hang_record(answers: Iterable[ProcessStacks]) -> CrashRecord | None:
    """The record of a stopped suite, or None when no process gave a stack."""
    threads: list[ThreadStack] = []
    busy = False
    on_locks = True
    for answer in answers:
        for dump in find_dumps(answer.text.splitlines()):
            threads.extend(t for t in dump.threads if t.frames)
        busy |= bool(answer.running_threads)
        on_locks &= answer.all_on_locks
    if not threads:
        return None
    if busy:
        return CrashRecord(
            kind=CrashKind.BUSY_HANG, headline="a thread was still running", waiting_threads=threads
        )
    if on_locks:
        return CrashRecord(
            kind=CrashKind.DEADLOCK,
            headline="every thread waited on a lock",
            waiting_threads=threads,
        )
    return CrashRecord(
        kind=CrashKind.BLOCKED, headline="every thread was asleep", waiting_threads=threads
    )


def stopped_test_record(frames: Iterable[tuple[str, int | None, str]]) -> CrashRecord:
    """A test that ran (its thread busy) until pytest-timeout stopped it, where it was:
    `frames` innermost first, as (file, line, function)."""
    stack = [
        PythonFrame(file=file, line=line, function=function) for file, line, function in frames
    ]
    return CrashRecord(
        kind=CrashKind.BUSY_HANG,
        headline="a test ran until its time limit stopped it",
        waiting_threads=[ThreadStack(current=True, frames=stack)],
    )

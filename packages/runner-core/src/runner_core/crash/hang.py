"""A hung suite's stacks, asked for before the kill, as a record with a signature.

Every interpreter of the suite answers apiary's stacks signal with a faulthandler dump
of all its threads (`runner_core.evidence`), and the sandbox notes each thread's state
just before: when every thread of every process was asleep the suite was waiting on
something that never came (kind `deadlock`, two locks taken in opposite order being the
classic); when one was running it was busy (`busy_hang`, a loop that never ends).

The signature (`runner_core.crash.signature`) names, for each thread, the innermost
frame of the code under test: the harness's frames and the standard library's waiting
machinery (`threading`, `queue`, `selectors`, ...) are skipped, so a thread blocked in
`Lock.acquire` under `with lock:` is named by the function that holds the `with`.
The names are sorted and de-duplicated, so the order threads were started in, their
ids and the paths never matter: two packages hanging at the same site share a bucket.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from normalized_events import CrashKind

from runner_core.crash.faulthandler import find_dumps
from runner_core.crash.record import CrashRecord, ThreadStack


@dataclass(frozen=True)
class ProcessStacks:
    """One process's answer: its pid (as it saw itself), its dump text, its threads' state."""

    pid: int
    text: str
    threads: int | None = None
    running_threads: int | None = None


def hang_record(answers: Iterable[ProcessStacks]) -> CrashRecord | None:
    """The record of a stopped suite, or None when no process gave a stack."""
    threads: list[ThreadStack] = []
    busy = False
    for answer in answers:
        for dump in find_dumps(answer.text.splitlines()):
            threads.extend(t for t in dump.threads if t.frames)
        busy |= bool(answer.running_threads)
    if not threads:
        return None
    kind = CrashKind.BUSY_HANG if busy else CrashKind.DEADLOCK
    what = "a thread was still running" if busy else "every thread was waiting"
    return CrashRecord(kind=kind, headline=what, waiting_threads=threads)

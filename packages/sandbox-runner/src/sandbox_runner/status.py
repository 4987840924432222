"""Reading how a command ended: exit statuses, signals, and signs of running out of memory."""

from __future__ import annotations

import signal
from collections.abc import Iterable

# Linux signals are 1..64; a shell (and bubblewrap) reports death by signal N as 128+N.
_MAX_SIGNAL = 64
_SHELL_OFFSET = 128

# Lines a process prints when an allocation fails (Python, C, C++, Rust, Go, glibc, ASan).
OOM_MARKERS = (
    "MemoryError",
    "Cannot allocate memory",
    "std::bad_alloc",
    "out of memory",
    "Out of memory",
    "memory allocation of",
    "failed to allocate",
    "runtime: out of memory",
    "allocator is out of memory",
    "requested allocation size",
)


def decode_status(returncode: int) -> tuple[int, int | None]:
    """Return `(exit_code, signal)` for a returncode as subprocess or a shell reports it.

    `-N` (subprocess: the child died of signal N) and `128+N` (`sh -c`, bubblewrap: a
    child of theirs died of signal N) both give signal N; the exit code is kept as given.
    A program that calls `exit(139)` cannot be told apart from a shell reporting SIGSEGV.
    """
    if returncode < 0 and -returncode <= _MAX_SIGNAL:
        return returncode, -returncode
    if _SHELL_OFFSET < returncode <= _SHELL_OFFSET + _MAX_SIGNAL:
        return returncode, returncode - _SHELL_OFFSET
    return returncode, None


def signal_name(number: int | None) -> str | None:
    """`11 -> "SIGSEGV"`; real-time and unknown numbers as `SIG<number>`."""
    if number is None:
        return None
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"SIG{number}"


def suspect_oom(
    *,
    memory_limit: int | None,
    peak_rss_bytes: int,
    signal_number: int | None,
    killed_by_us: bool,
    tail: Iterable[str],
) -> bool:
    """Whether the command most likely stopped because memory ran out.

    Evidence, any of which is enough: an allocation-failure message in the last lines of
    output; a SIGKILL nobody in apiary sent (the kernel's OOM killer); a crash (SIGSEGV,
    SIGABRT, SIGBUS) with the resident set near the memory limit.
    """
    if any(marker in line for line in tail for marker in OOM_MARKERS):
        return True
    if signal_number == signal.SIGKILL and not killed_by_us:
        return True
    crashed = signal_number in (signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS)
    return bool(memory_limit and crashed and peak_rss_bytes >= 0.8 * memory_limit)

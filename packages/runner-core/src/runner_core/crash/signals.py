"""Signals: reading them from exit statuses, naming them, and what each one means."""

from __future__ import annotations

import signal as _signal

# Linux signals are 1..64; a shell (`sh -c`) or bubblewrap reports a child's death by
# signal N as exit status 128+N.
_MAX_SIGNAL = 64
_SHELL_OFFSET = 128

# faulthandler's names for the signals it catches: `Fatal Python error: <name>`.
FAULT_MESSAGES: dict[str, int] = {
    "Segmentation fault": _signal.SIGSEGV,
    "Aborted": _signal.SIGABRT,
    "Bus error": _signal.SIGBUS,
    "Floating-point exception": _signal.SIGFPE,
    "Floating point exception": _signal.SIGFPE,
    "Illegal instruction": _signal.SIGILL,
}

_DESCRIPTIONS: dict[int, str] = {
    _signal.SIGSEGV: "Segmentation fault",
    _signal.SIGABRT: "Aborted",
    _signal.SIGBUS: "Bus error",
    _signal.SIGFPE: "Floating-point exception",
    _signal.SIGILL: "Illegal instruction",
}


def status_signal(exit_code: int | None, signal: int | None) -> int | None:
    """The signal that ended a process, from an explicit signal or from its exit status.

    `-N` is how subprocess reports a death by signal N; `128+N` is how a shell or
    bubblewrap reports the same death of its child. A program that calls `exit(139)`
    cannot be told from a shell reporting SIGSEGV; exit 128 itself (git's fatal) is no
    signal.
    """
    if signal is not None and signal > 0:
        return signal
    if exit_code is None:
        return None
    if exit_code < 0 and -exit_code <= _MAX_SIGNAL:
        return -exit_code
    if _SHELL_OFFSET < exit_code <= _SHELL_OFFSET + _MAX_SIGNAL:
        return exit_code - _SHELL_OFFSET
    return None


def signal_name(number: int | None) -> str | None:
    """`11 -> "SIGSEGV"`; numbers Python does not name as `SIG<number>`."""
    if number is None:
        return None
    try:
        return _signal.Signals(number).name
    except ValueError:
        return f"SIG{number}"


def describe_signal(number: int) -> str:
    """What a death by this signal is called: `Segmentation fault`, `killed by SIGKILL`."""
    return _DESCRIPTIONS.get(number) or f"killed by {signal_name(number)}"

"""The sandboxes running in this process, so that stopping apiary stops them too.

`run_sandboxed` registers each command while it runs. `terminate_all()` kills every one
of them (each `run_sandboxed` call then returns with `interrupted=True`).
`terminate_on_signals()` installs SIGINT/SIGTERM/SIGHUP handlers that do so before the
usual behaviour (KeyboardInterrupt, exit status 128+N). `run_sandboxed` enters it by itself when
called from the main thread; a program that runs sandboxes from worker threads should
wrap its whole run in it, in the main thread:

    with sandbox_runner.terminate_on_signals():
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(sandbox_runner.run_sandboxed, specs))
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from sandbox_runner.backends.base import Backend

_SIGNAL_EXIT_OFFSET = 128


@dataclass
class LiveSandbox:
    pid: int
    backend: Backend
    marker: str
    interrupted: bool = field(default=False)

    def kill(self) -> None:
        self.backend.kill_tree(self.pid, self.marker)


class _Registry:
    """Process-wide: signal handlers are process-wide, and so must be what they stop."""

    def __init__(self) -> None:
        self._lock = threading.RLock()  # reentrant: a handler may fire while it is held
        self._live: dict[int, LiveSandbox] = {}
        self.handlers_installed = False

    def add(self, sandbox: LiveSandbox) -> None:
        with self._lock:
            self._live[sandbox.pid] = sandbox

    def remove(self, sandbox: LiveSandbox) -> None:
        with self._lock:
            self._live.pop(sandbox.pid, None)

    def snapshot(self) -> list[LiveSandbox]:
        with self._lock:
            return list(self._live.values())


REGISTRY = _Registry()


def live_sandboxes() -> list[LiveSandbox]:
    return REGISTRY.snapshot()


def terminate_all() -> int:
    """Kill every running sandbox of this process; return how many there were."""
    sandboxes = REGISTRY.snapshot()
    for sandbox in sandboxes:
        sandbox.interrupted = True
        sandbox.kill()
    return len(sandboxes)


@contextmanager
def terminate_on_signals(
    signals: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP),
) -> Iterator[None]:
    """While inside, SIGINT, SIGTERM and SIGHUP first kill every running sandbox.

    Then the previous handler runs (SIGINT: KeyboardInterrupt); a SIGTERM or SIGHUP that
    had the default action raises `SystemExit(128 + N)` so `finally` blocks and logs
    complete. Ignored signals stay ignored. Only the main thread can install handlers:
    elsewhere, and when already installed, this does nothing.
    """
    if threading.current_thread() is not threading.main_thread() or REGISTRY.handlers_installed:
        yield
        return
    previous: dict[signal.Signals, Any] = {}
    for signum in signals:
        before = signal.getsignal(signum)
        if before is signal.SIG_IGN or before is None:
            continue
        previous[signum] = before
        signal.signal(signum, _handler(before))
    REGISTRY.handlers_installed = True
    try:
        yield
    finally:
        REGISTRY.handlers_installed = False
        for signum, before in previous.items():
            signal.signal(signum, before)


def _handler(before: Any) -> Any:
    def handle(signum: int, frame: FrameType | None) -> None:
        terminate_all()
        if callable(before):
            before(signum, frame)
        elif signum == signal.SIGINT:
            raise KeyboardInterrupt
        else:
            raise SystemExit(_SIGNAL_EXIT_OFFSET + signum)

    return handle

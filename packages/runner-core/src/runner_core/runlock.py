"""One run directory, one apiary at a time: a run id is locked while a run uses it."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from runner_core.errors import RunLockedError

LOCK_NAME = ".lock"


@contextmanager
def run_lock(run_dir: Path, run_id: str) -> Iterator[None]:
    """Hold the run directory's lock, or raise RunLockedError (one line) at once.

    The lock is an ``flock`` on ``<run dir>/.lock``: the kernel lets it go when its
    process ends, however it ends, so a killed run never leaves a stale lock behind. The
    file names the holder's pid for the message.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(run_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise RunLockedError(
                f"run {run_id} is in use by another apiary (pid {holder}):"
                " wait for it to end, or choose another --run-id"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)

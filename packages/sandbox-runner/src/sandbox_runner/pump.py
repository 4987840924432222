"""Streaming a running command's output to its logs while watching its time limits,
its silence and the disk, until it ends or a limit stops it."""

from __future__ import annotations

import os
import selectors
import time
from dataclasses import dataclass

from sandbox_runner.diskwatch import DiskWatch
from sandbox_runner.output import CappedLog
from sandbox_runner.spec import Limits, SandboxSpec

READ_CHUNK = 64 * 1024
# After the command ends and its tree is killed, how long to wait for the pipes to close.
DRAIN_S = 5.0
# Without a pidfd, how often to look whether the command has exited.
POLL_S = 0.05


@dataclass
class Watch:
    timed_out: bool = False
    idle_timed_out: bool = False
    disk: str | None = None  # why the disk watch stopped the command

    @property
    def stopped(self) -> bool:
        return self.timed_out or self.idle_timed_out or self.disk is not None


def pump(
    pid: int, streams: dict[int, CappedLog], spec: SandboxSpec, started: float, disk: DiskWatch
) -> Watch:
    """Copy output to the logs until the command exits, a timeout passes or the disk
    watch says stop."""
    watch = Watch()
    last_output = started
    with selectors.DefaultSelector() as selector:
        for fd in streams:
            selector.register(fd, selectors.EVENT_READ)
        pidfd = _pidfd(pid)
        if pidfd is not None:
            selector.register(pidfd, selectors.EVENT_READ)
        try:
            while True:
                wait = _until_deadline(spec.limits, watch, started, last_output, disk)
                if wait is None:
                    return watch
                if pidfd is None:
                    wait = min(wait, POLL_S)
                ended, output = _read_ready(selector, wait, pidfd, streams)
                if output:
                    last_output = time.monotonic()
                if ended or (pidfd is None and exited(pid)):
                    watch.disk = disk.check(final=True)
                    return watch
                watch.disk = disk.check()
                if watch.disk is not None:
                    return watch
        finally:
            if pidfd is not None:
                os.close(pidfd)


def _until_deadline(
    limits: Limits, watch: Watch, started: float, last_output: float, disk: DiskWatch
) -> float | None:
    """Seconds until the next timeout or disk check; None (and the watch says which)
    once a timeout has passed."""
    now = time.monotonic()
    deadlines = [now + disk.due_in()]
    if limits.timeout_s is not None:
        if now - started >= limits.timeout_s:
            watch.timed_out = True
            return None
        deadlines.append(started + limits.timeout_s)
    if limits.idle_timeout_s is not None:
        if now - last_output >= limits.idle_timeout_s:
            watch.idle_timed_out = True
            return None
        deadlines.append(last_output + limits.idle_timeout_s)
    return min(deadlines) - now


def _read_ready(
    selector: selectors.BaseSelector,
    wait: float,
    pidfd: int | None,
    streams: dict[int, CappedLog],
) -> tuple[bool, bool]:
    """(the command ended, some output came) after waiting up to ``wait`` seconds."""
    ended = output = False
    for key, _ in selector.select(wait):
        if key.fd == pidfd:
            ended = True
            continue
        data = os.read(key.fd, READ_CHUNK)
        if data:
            streams[key.fd].write(data)
            output = True
        else:
            selector.unregister(key.fd)
    return ended, output


def drain(streams: dict[int, CappedLog]) -> None:
    """Read what is left in the pipes once every writer is dead (bounded in time)."""
    deadline = time.monotonic() + DRAIN_S
    with selectors.DefaultSelector() as selector:
        for fd in streams:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map() and (left := deadline - time.monotonic()) > 0:
            for key, _ in selector.select(left):
                data = os.read(key.fd, READ_CHUNK)
                if data:
                    streams[key.fd].write(data)
                else:
                    selector.unregister(key.fd)


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def exited(pid: int) -> bool:
    found = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    return found is not None

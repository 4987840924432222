"""Stopping a command that fills the disk, before apiary and the host run out of space.

The command writes only to its working directory and writable paths (and to tmpfs,
bounded elsewhere). Every `CHECK_S` the runner asks `statvfs` how much the filesystems
holding those paths have filled since the command started, and once more when it exits:
past `Limits.disk_bytes`, or
once less than a reserve stays free while the command writes (`DISK_RESERVE_BYTES`, or
`RESERVE_SHARE` of a smaller filesystem), the command is stopped. `statvfs` sees the
whole filesystem, so what other processes write at the same time counts too: the limit
bounds the step's share only roughly, never its files exactly (RLIMIT_FSIZE,
`Limits.fsize_bytes`, bounds each file exactly).
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

CHECK_S = 0.5
DISK_RESERVE_BYTES = 256 * 1024**2
RESERVE_SHARE = 0.05


def _sizes(path: Path) -> tuple[int, int, int] | None:
    """(bytes used, bytes free for unprivileged writers, size) of the filesystem of `path`."""
    try:
        stat = os.statvfs(path)
    except OSError:
        return None
    used = (stat.f_blocks - stat.f_bfree) * stat.f_frsize
    return used, stat.f_bavail * stat.f_frsize, stat.f_blocks * stat.f_frsize


@dataclass
class DiskWatch:
    """The filesystems of one command's writable paths and how full they were at start."""

    limit: int | None
    reserve: int = DISK_RESERVE_BYTES
    _start: dict[int, tuple[Path, int]] = field(default_factory=dict)
    _next: float = 0.0

    @classmethod
    def over(cls, paths: tuple[Path, ...], limit: int | None) -> DiskWatch:
        watch = cls(limit)
        for path in paths:
            with contextlib.suppress(OSError):
                device = path.stat().st_dev
                sizes = _sizes(path)
                if device not in watch._start and sizes is not None:
                    watch._start[device] = (path, sizes[0])
        watch._next = time.monotonic() + CHECK_S
        return watch

    def due_in(self) -> float:
        return max(0.0, self._next - time.monotonic())

    def check(self, *, final: bool = False) -> str | None:
        """Why the command must stop now, or None (looks only every CHECK_S, and once more
        when the command has exited: a quick writer must not slip between two looks)."""
        now = time.monotonic()
        if now < self._next and not final:
            return None
        self._next = now + CHECK_S
        for path, used_at_start in self._start.values():
            sizes = _sizes(path)
            if sizes is None:
                continue
            used, free, size = sizes
            grown = used - used_at_start
            reserve = min(self.reserve, int(size * RESERVE_SHARE))
            if self.limit is not None and grown > self.limit:
                return (
                    f"disk limit: {_mib(grown)} written on the filesystem of {path} "
                    f"(limit {_mib(self.limit)})"
                )
            if grown > 0 and free < reserve:
                return f"disk nearly full: {_mib(free)} left on the filesystem of {path}"
        return None


def _mib(size: int) -> str:
    return f"{size / 1024**2:.0f} MiB"

"""Bounding how many processes (and threads) one command may have alive at once.

RLIMIT_NPROC counts every process of the real user, and the kernel exempts root (also
root mapped into a user namespace, as bwrap does when apiary runs as root), so it cannot
bound a sandbox of root's. A pids cgroup bounds exactly the command's tree, whoever runs
it: `pids_group` makes one per command under `/sys/fs/cgroup/pids/apiary/` (cgroup v1,
writable by root on hosts without systemd) and the child joins it before exec. Where no
such cgroup can be made, the limit falls back to RLIMIT_NPROC: set by the reaper inside
bwrap's user namespace (counted per namespace, so it bounds the command alone, but not
for root) or, without bwrap, in the child (counted over all the user's processes).
`ProcessLimit.method` says which applied.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

PIDS_V1 = Path("/sys/fs/cgroup/pids")
_BASE_NAME = "apiary"
RMDIR_WAIT_S = 2.0
SWEEP_AGE_S = 600.0

LimitMethod = Literal["cgroup", "rlimit", "none"]


@dataclass(frozen=True)
class PidsGroup:
    """One command's pids cgroup."""

    path: Path

    def hit(self) -> bool:
        """Whether a fork or clone failed because the group was full."""
        with contextlib.suppress(OSError, ValueError):
            for line in (self.path / "pids.events").read_text().splitlines():
                key, _, count = line.partition(" ")
                if key == "max":
                    return int(count) > 0
        return False

    def remove(self) -> None:
        """Delete the group once its processes are gone (they die with the namespace)."""
        deadline = time.monotonic() + RMDIR_WAIT_S
        while True:
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                if time.monotonic() > deadline:
                    return  # left for `_sweep` of a later command
                time.sleep(0.01)


@dataclass(frozen=True)
class ProcessLimit:
    """How `limit` processes are enforced for one command."""

    limit: int | None
    method: LimitMethod
    group: PidsGroup | None = None

    def finish(self) -> bool:
        """After the command: whether the cgroup refused a fork, its group removed."""
        if self.group is None:
            return False
        hit = self.group.hit()
        self.group.remove()
        return hit

    def describe(self) -> str:
        if self.limit is None:
            return "no process limit"
        how = {
            "cgroup": "a pids cgroup",
            "rlimit": "RLIMIT_NPROC",
            "none": "nothing (no pids cgroup here, and RLIMIT_NPROC does not bind root)",
        }[self.method]
        return f"process limit {self.limit} enforced by {how}"


def process_limit(limit: int | None, marker: str) -> ProcessLimit:
    """The enforcement for one command: a pids cgroup if one can be made, else RLIMIT_NPROC
    where it binds (not for root), else none."""
    if limit is None:
        return ProcessLimit(None, "none")
    group = pids_group(limit, marker)
    if group is not None:
        return ProcessLimit(limit, "cgroup", group)
    if os.getuid() != 0:
        return ProcessLimit(limit, "rlimit")
    return ProcessLimit(limit, "none")  # root is exempt from RLIMIT_NPROC in any namespace


def pids_group(limit: int, marker: str) -> PidsGroup | None:
    """A new pids cgroup allowing `limit` tasks, or None where none can be made."""
    base = _base()
    if base is None:
        return None
    path = base / marker
    try:
        path.mkdir()
        (path / "pids.max").write_text(str(limit))
    except OSError:
        with contextlib.suppress(OSError):
            path.rmdir()
        return None
    return PidsGroup(path)


@functools.cache
def _base() -> Path | None:
    """apiary's parent pids cgroup (cgroup v1), made once; None if it cannot be."""
    if not (PIDS_V1 / "cgroup.procs").is_file() or not os.access(PIDS_V1, os.W_OK):
        return None
    base = PIDS_V1 / _BASE_NAME
    try:
        base.mkdir(exist_ok=True)
    except OSError:
        return None
    _sweep(base)
    return base


def _sweep(base: Path) -> None:
    """Remove the empty groups of commands whose clean-up did not finish; never a young
    one, which another process may have made for a command about to join it."""
    old = time.time() - SWEEP_AGE_S
    with contextlib.suppress(OSError):
        for leaf in base.iterdir():
            with contextlib.suppress(OSError):
                if leaf.is_dir() and leaf.stat().st_mtime < old:
                    leaf.rmdir()


def join_group(group: Path, limit: int) -> None:
    """In the child before exec: move this process into the group ("0" means itself),
    making the group again if something removed it in the meantime (another apiary's
    clean-up), so that the command never runs unbounded."""
    try:
        _write(group / "cgroup.procs", b"0")
    except FileNotFoundError:
        group.mkdir()
        _write(group / "pids.max", str(limit).encode())
        _write(group / "cgroup.procs", b"0")


def _write(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)

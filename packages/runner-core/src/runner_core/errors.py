"""The errors a user of `apiary run` can cause; each message is the line they read."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import TypeGuard

from normalized_events import EventLogError


class RunnerError(Exception):
    """Base of every user-facing runner error."""


class InterpreterError(RunnerError):
    """The target interpreter cannot be used."""


class OptionError(RunnerError):
    """A command-line option has an invalid value."""


class SourceError(RunnerError):
    """A package's source cannot be fetched (clone, download or extraction failed)."""


class ResumeError(RunnerError):
    """A run cannot be resumed (no such run, or its options do not match)."""


class RunLockedError(RunnerError):
    """Another apiary is using this run directory (the same --run-id, at the same time)."""


class RunFailedError(RunnerError):
    """A run stopped on an unexpected problem; run.json says so (status "failed")."""


class DiskFullError(RunnerError):
    """apiary itself could not write (results, logs, sources): the disk is full.

    The run stops as if interrupted, so `--resume` continues it once space is back.
    """

    @classmethod
    def from_os_error(cls, error: OSError) -> DiskFullError:
        where = f" writing {error.filename}" if error.filename else ""
        return cls(f"the disk is full ({error.strerror}{where}); free some space, then resume")


def is_disk_full(error: BaseException) -> TypeGuard[OSError]:
    """Whether `error` says the disk (or the user's quota) is full."""
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)


# Below this, a failed write is taken for a full disk whatever it said (a short write).
_NEARLY_NOTHING = 1024 * 1024


def full_disk(error: BaseException, where: Path) -> DiskFullError | None:
    """The `DiskFullError` that `error` amounts to, or None: an OSError saying so, or
    any failed write (an event log's short write) while `where`'s filesystem has next to
    no space left."""
    if isinstance(error, DiskFullError):
        return error
    if is_disk_full(error):
        return DiskFullError.from_os_error(error)
    if isinstance(error, OSError | EventLogError):
        try:
            stat = os.statvfs(where)
        except OSError:
            return None
        if stat.f_bavail * stat.f_frsize < _NEARLY_NOTHING:
            return DiskFullError(f"the disk is full ({error}); free some space, then resume")
    return None

"""Writing and reading the files of a run directory: whole or not at all, tails, digests.

The one home of these small mechanisms for every package that writes or reads runs
(runner-core, reporter). registry-core and the publisher in ``tools/`` depend on no
package of ours and keep their own (``registry_core.fileio``, ``tools/manifest.py``).
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO

_BLOCK = 1 << 20


def write_atomic(path: Path, data: bytes | str, *, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data``: a reader sees the old file or the new one, never
    half of one, and a failed write leaves no temporary file behind (OSError raised)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        Path(temporary).chmod(mode)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def open_regular(path: Path) -> BinaryIO:
    """``path`` opened for reading when it is a regular file, else OSError.

    Run and work folders hold files that sandboxed code could have replaced: a symbolic
    link (to a host file apiary may read and the sandbox may not) is not followed, and a
    FIFO or device (whose opening or reading could block for ever) is not read.
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OSError(errno.ELOOP, "a symbolic link, not followed", str(path)) from None
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


class TooLarge(OSError):
    """A file `read_whole` did not read: it holds more than the limit (``size`` bytes)."""

    def __init__(self, path: Path, size: int, limit: int) -> None:
        super().__init__(errno.EFBIG, f"{size} bytes, over the {limit} limit", str(path))
        self.size = size


def read_whole(path: Path, limit: int) -> bytes:
    """A regular file (`open_regular`) of at most ``limit`` bytes, whole; TooLarge
    (nothing read) when it is larger, OSError when it cannot be read."""
    with open_regular(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise TooLarge(path, size, limit)
        data = handle.read(limit + 1)
    if len(data) > limit:  # it grew since
        raise TooLarge(path, len(data), limit)
    return data


def read_tail(path: Path, limit: int) -> tuple[bytes, int]:
    """The last ``limit`` bytes of a regular file (`open_regular`) and its whole size
    (OSError raised)."""
    with open_regular(path) as handle:
        size = handle.seek(0, os.SEEK_END)
        handle.seek(max(0, size - limit))
        return handle.read(limit), size


def read_head(path: Path, limit: int) -> tuple[bytes, int]:
    """The first ``limit`` bytes of a regular file (`open_regular`) and its whole size
    (OSError raised)."""
    with open_regular(path) as handle:
        size = handle.seek(0, os.SEEK_END)
        handle.seek(0)
        return handle.read(limit), size


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file's bytes, read in blocks (OSError raised)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()

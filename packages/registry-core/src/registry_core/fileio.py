"""Registry file access: atomic writes (a reader sees the old file or the new one, never
half of one) and reads that never follow a link out of the registry nor exceed a size."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from registry_core.errors import EditError, FileRefused
from registry_core.limits import size_text


def outside(path: Path, root: Path) -> Path | None:
    """Where ``path`` really leads when that is outside ``root``; None when inside."""
    real = path.resolve()
    return None if real.is_relative_to(root.resolve()) else real


def read_capped(path: Path, limit: int, *, follow: bool = True) -> bytes:
    """The bytes of the regular file ``path``, or FileRefused (one line) when it is over
    ``limit`` bytes, not a regular file, or (``follow=False``) a symbolic link."""
    flags = os.O_RDONLY | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        if not follow and path.is_symlink():
            raise FileRefused(path, "a symbolic link; edit the file it points to") from None
        raise FileRefused(path, f"cannot read the file: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(path, "not a regular file")
        if info.st_size > limit:
            raise FileRefused(path, too_large(info.st_size, limit))
        data = _read_at_most(fd, limit + 1, info.st_size + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise FileRefused(path, too_large(len(data), limit))
    return data


def _read_at_most(fd: int, most: int, expected: int) -> bytes:
    """Up to ``most`` bytes of ``fd``, in reads of the ``expected`` size: one read for a
    file that did not grow since its size was taken (a buffered reader of ``most`` bytes
    costs three times as much on a small file)."""
    parts = []
    left = most
    while left > 0:
        chunk = os.read(fd, min(left, max(expected, 1 << 16)))
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def too_large(size: int, limit: int) -> str:
    return f"the file is {size_text(size)}, over the {size_text(limit)} limit"


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` (keeping its permission bits) or raise EditError."""
    try:
        try:
            mode = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o644
        replace_file(path, data, mode)
    except OSError as exc:
        raise EditError(f"{path}: cannot write: {exc.strerror or exc}") from None


def replace_file(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` whole, or leave it and no temporary file (OSError)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)  # noqa: PTH101 - on the descriptor's file before it is visible
        Path(tmp).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise

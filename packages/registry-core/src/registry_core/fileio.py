"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from registry_core.errors import EditError


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` (keeping its permission bits) or raise EditError."""
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o644
    except OSError as exc:
        raise EditError(f"{path}: cannot write: {exc.strerror or exc}") from None
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)  # noqa: PTH101 - on the descriptor's file before it is visible
        Path(tmp).replace(path)
        tmp = None
    except OSError as exc:
        raise EditError(f"{path}: cannot write: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                Path(tmp).unlink()

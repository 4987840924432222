"""Writing and reading the files of a run directory: whole or not at all, tails, digests.

The one home of these small mechanisms for every package that writes or reads runs
(runner-core, reporter). registry-core and the publisher in ``tools/`` depend on no
package of ours and keep their own (``registry_core.fileio``, ``tools/manifest.py``).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

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


def read_tail(path: Path, limit: int) -> tuple[bytes, int]:
    """The last ``limit`` bytes of a file and the file's whole size (OSError raised)."""
    with path.open("rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        handle.seek(max(0, size - limit))
        return handle.read(limit), size


def read_head(path: Path, limit: int) -> tuple[bytes, int]:
    """The first ``limit`` bytes of a file and the file's whole size (OSError raised)."""
    with path.open("rb") as handle:
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

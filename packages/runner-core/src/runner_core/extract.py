"""Unpack an sdist with a budget: a small archive may claim to hold many gigabytes.

Member sizes and counts are read from the archive's headers (a tar member or a zip entry
never writes more than it declares) and checked before anything is written, so a
decompression bomb stops at its first header past the budget, without filling the disk.
"""

from __future__ import annotations

import lzma
import tarfile
import zipfile
import zlib
from pathlib import Path

from registry_core.httpget import human_size

from runner_core.errors import SourceError
from runner_core.limits import SourceLimits

_BROKEN = (
    tarfile.TarError,
    zipfile.BadZipFile,
    OSError,
    EOFError,
    zlib.error,
    lzma.LZMAError,
    ValueError,
)


class Budget:
    """Counts files and bytes against the limits; SourceError past either."""

    def __init__(self, what: str, limits: SourceLimits) -> None:
        self.what = what
        self.limits = limits
        self.files = 0
        self.bytes = 0

    def add(self, size: int) -> None:
        self.files += 1
        self.bytes += max(size, 0)
        if self.files > self.limits.unpacked_files:
            raise SourceError(
                f"{self.what}: more than {self.limits.unpacked_files} files"
                " (the unpacked-files limit): refused"
            )
        if self.bytes > self.limits.unpacked_bytes:
            raise SourceError(
                f"{self.what}: more than {human_size(self.limits.unpacked_bytes)} unpacked"
                " (the unpacked-size limit): refused"
            )


def extract_archive(archive: Path, into: Path, limits: SourceLimits | None = None) -> None:
    """Extract an sdist (.tar.* or .zip) into ``into``; unsafe member paths are refused,
    and so is an archive over the size or file-count budget of ``limits``."""
    budget = Budget(archive.name, limits or SourceLimits())
    try:
        if archive.suffix == ".zip":
            _extract_zip(archive, into, budget)
        else:
            _extract_tar(archive, into, budget)
    except _BROKEN as exc:
        first = (str(exc) or type(exc).__name__).splitlines()[0]
        raise SourceError(f"{archive.name}: cannot extract: {first}") from None


def _extract_zip(archive: Path, into: Path, budget: Budget) -> None:
    with zipfile.ZipFile(archive) as zipped:
        members = zipped.infolist()
        for member in members:
            if member.filename.startswith("/") or ".." in Path(member.filename).parts:
                raise SourceError(f"{archive.name}: unsafe path {member.filename!r}")
            budget.add(member.file_size)
        zipped.extractall(into)  # noqa: S202 - members checked above


def _extract_tar(archive: Path, into: Path, budget: Budget) -> None:
    with tarfile.open(archive) as tarred:
        # Headers first: reading them unpacks the stream but writes nothing.
        while (member := tarred.next()) is not None:
            budget.add(member.size if member.isreg() else 0)
        tarred.extractall(into, filter="data")

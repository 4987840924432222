"""Copy a local source folder (``--repo-override PKG=/path``) without leaving it.

The copy keeps the tests from writing into the user's tree. A symbolic link that points
inside the folder is copied as a link (made relative); one that leads out of it (to /usr,
say) is left out with a log line: the copy never reads outside the folder. Sizes and
counts have the same budget as an unpacked sdist.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from runner_core.errors import SourceError
from runner_core.extract import Budget
from runner_core.limits import SourceLimits

IGNORED = frozenset({".venv", "__pycache__"})


@dataclass
class _Listing:
    files: list[str] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)  # relative path -> relative target
    skipped: list[str] = field(default_factory=list)
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)


def _list(folder: Path, limits: SourceLimits) -> _Listing:
    root = folder.resolve()
    listing = _Listing()
    budget = Budget(str(folder), limits)
    for current, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED)
        for name in [*dirs, *sorted(files)]:
            path = Path(current, name)
            rel = path.relative_to(folder)
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                if name in dirs:
                    dirs.remove(name)
                real = path.resolve()
                if not real.is_relative_to(root):
                    listing.skipped.append(f"{rel} -> {path.readlink()}")
                    continue
                target = os.path.relpath(real, (root / rel).parent)
                listing.links[str(rel)] = target
                listing.digest.update(f"{rel}->{target}\n".encode())
            elif stat.S_ISDIR(info.st_mode):
                listing.dirs.append(str(rel))
            elif stat.S_ISREG(info.st_mode):
                budget.add(info.st_size)
                listing.files.append(str(rel))
                listing.digest.update(f"{rel}:{info.st_size}:{info.st_mtime_ns}\n".encode())
    return listing


def copy_folder(
    folder: Path, target: Path, limits: SourceLimits, log: Callable[[str], None]
) -> str:
    """Copy ``folder`` to ``target`` unless the copy there is current; return its revision."""
    try:
        listing = _list(folder, limits)
    except OSError as exc:
        raise SourceError(f"{folder}: cannot read: {exc.strerror or exc}") from None
    revision = listing.digest.hexdigest()[:16]
    marker = target.parent / f"{target.name}.revision"
    if marker.is_file() and marker.read_text() == revision and target.is_dir():
        return revision
    for skipped in listing.skipped:
        log(f"not copied: {skipped} (a link out of {folder})")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        for rel in listing.dirs:
            (staging / rel).mkdir(parents=True, exist_ok=True)
        for rel in listing.files:
            shutil.copy2(folder / rel, staging / rel, follow_symlinks=False)
        for rel, link in listing.links.items():
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            (staging / rel).symlink_to(link)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    except OSError as exc:
        raise SourceError(f"copy of {folder} failed: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    marker.write_text(revision)
    log(f"copied {folder} into {target}")
    return revision

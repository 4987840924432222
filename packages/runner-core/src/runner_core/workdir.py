"""The work directory: where each package's venvs, caches, home and sources go, and the
disk budget that keeps it bounded.

::

    <work-dir>/
      cache/packages/<package>/              what its installs make (never shared):
        uv/, pip/                              its installers' caches
        venvs/<package>-<interpreter>-<key>/   its venvs, one per venv key
      home/<package>/                        HOME of its commands
      sources/git/<package>-<digest>/        its clones, unpacked sdists and local copies
      sources/sdist/<package>/
      sources/local/<package>/
      sources/downloads/                     sdist files (small; never evicted)
      footprints/<package>.json              its bytes on disk and when it last ran
      locks/<package>                        held (shared) while the package runs

A package's venvs and its uv cache are one folder, which its installs see as one mount:
uv hard-links what it installs out of the cache instead of copying every file (its
tests see the venv alone). `venvs/` at the top holds the venvs of older versions of
apiary, and is cleared the same way.

A hunt over a whole registry leaves every package's venvs and caches behind: tens of
gigabytes. After each package, the packages that ran longest ago and are not running now
lose everything above until the work directory is within its budget and the disk keeps
the free space asked for. They are rebuilt the next time they run.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from normalized_events.files import write_atomic

DEFAULT_BUDGET_BYTES = 30 * 1024**3
DEFAULT_KEEP_FREE_BYTES = 5 * 1024**3


def work_dir_or_default(work_dir: Path | None) -> Path:
    """``work_dir`` as an absolute path, or the user cache's ``apiary/work``."""
    from platformdirs import user_cache_path

    return (work_dir or user_cache_path("apiary") / "work").absolute()


@dataclass(frozen=True)
class WorkBudget:
    """At most ``max_bytes`` of package folders (None: no cap), and at least
    ``keep_free_bytes`` free on the work directory's filesystem (0: no floor)."""

    max_bytes: int | None = DEFAULT_BUDGET_BYTES
    keep_free_bytes: int = DEFAULT_KEEP_FREE_BYTES


@dataclass(frozen=True)
class Footprint:
    package: str
    bytes: int
    last_used: float


@dataclass(frozen=True)
class Eviction:
    package: str
    bytes: int
    why: str


@dataclass(frozen=True)
class WorkLayout:
    """Every path of the work directory."""

    root: Path

    @property
    def venvs(self) -> Path:
        """Where older versions of apiary kept every package's venvs."""
        return self.root / "venvs"

    def package_venvs(self, package: str) -> Path:
        return self.package_cache(package) / "venvs"

    @property
    def sources(self) -> Path:
        return self.root / "sources"

    def home(self, package: str) -> Path:
        return self.root / "home" / package

    def package_cache(self, package: str) -> Path:
        return self.root / "cache" / "packages" / package

    @property
    def store(self) -> Path:
        """The shared starting point of every package's installer cache (runner_core.store)."""
        return self.root / "cache" / "store"

    def footprint_file(self, package: str) -> Path:
        return self.root / "footprints" / f"{package}.json"

    def lock_file(self, package: str) -> Path:
        return self.root / "locks" / package

    def package_paths(self, package: str) -> list[Path]:
        """Every folder that belongs to ``package`` alone and exists."""
        venv = re.compile(re.escape(package) + r"-[0-9a-f]{8}-[0-9a-f]{12}")
        clone = re.compile(re.escape(package) + r"-[0-9a-f]{10}")
        paths = [
            *_matching(self.venvs, venv),
            *_matching(self.sources / "git", clone),
            self.sources / "sdist" / package,
            self.sources / "local" / package,
            self.package_cache(package),
            self.home(package),
        ]
        return [p for p in paths if os.path.lexists(p)]

    def packages_on_disk(self) -> set[str]:
        """Packages with a home or an installer cache: every package that ever ran here."""
        found: set[str] = set()
        for folder in (self.root / "home", self.root / "cache" / "packages"):
            if folder.is_dir():
                found.update(p.name for p in folder.iterdir())
        return found


def _matching(folder: Path, pattern: re.Pattern[str]) -> list[Path]:
    if not folder.is_dir():
        return []
    return [p for p in folder.iterdir() if pattern.fullmatch(p.name)]


def disk_bytes(paths: list[Path]) -> int:
    """Blocks used under ``paths`` (hard links counted once, symlinks not followed)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for path in paths:
        for entry in _walk(path):
            key = (entry.st_dev, entry.st_ino)
            if key not in seen:
                seen.add(key)
                total += entry.st_blocks * 512
    return total


def _walk(path: Path) -> Iterator[os.stat_result]:
    try:
        yield path.lstat()
    except OSError:
        return
    folders = [path]
    while folders:
        try:
            with os.scandir(folders.pop()) as entries:
                for entry in entries:
                    try:
                        yield entry.stat(follow_symlinks=False)
                        if entry.is_dir(follow_symlinks=False):
                            folders.append(Path(entry.path))
                    except OSError:
                        continue
        except OSError:
            continue


def _open_lock(layout: WorkLayout, package: str) -> int:
    path = layout.lock_file(package)
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)


@contextmanager
def package_in_use(layout: WorkLayout, package: str) -> Iterator[None]:
    """Hold ``package``'s lock (shared: runs of it may overlap) so no budget evicts it."""
    fd = _open_lock(layout, package)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def record_footprint(layout: WorkLayout, package: str, now: float | None = None) -> Footprint:
    """Measure ``package``'s folders and remember their size and this use."""
    used = time.time() if now is None else now
    footprint = Footprint(package, disk_bytes(layout.package_paths(package)), used)
    path = layout.footprint_file(package)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps({"bytes": footprint.bytes, "last_used": used}) + "\n")
    return footprint


def _read_footprint(layout: WorkLayout, package: str) -> Footprint | None:
    try:
        data = json.loads(layout.footprint_file(package).read_text(encoding="utf-8"))
        return Footprint(package, int(data["bytes"]), float(data["last_used"]))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def footprints(layout: WorkLayout) -> list[Footprint]:
    """Every package's footprint, oldest use first; a package without a readable record
    (it ran before budgets, or the record is damaged) is measured now, its use dated by
    its home folder."""
    found = []
    for package in layout.packages_on_disk():
        known = _read_footprint(layout, package)
        if known is None:
            try:
                dated = layout.home(package).stat().st_mtime
            except OSError:
                dated = 0.0
            known = record_footprint(layout, package, now=dated)
        found.append(known)
    return sorted(found, key=lambda f: (f.last_used, f.package))


def enforce_budget(layout: WorkLayout, budget: WorkBudget) -> list[Eviction]:
    """Evict the least recently used packages not running now until ``budget`` holds."""
    if budget.max_bytes is None and budget.keep_free_bytes <= 0:
        return []
    known = footprints(layout)
    total = sum(f.bytes for f in known)
    evicted: list[Eviction] = []
    for footprint in known:
        why = _over(budget, total, shutil.disk_usage(layout.root).free)
        if why is None:
            break
        if evict(layout, footprint.package):
            evicted.append(Eviction(footprint.package, footprint.bytes, why))
            total -= footprint.bytes
    return evicted


def _over(budget: WorkBudget, total: int, free: int) -> str | None:
    if budget.max_bytes is not None and total > budget.max_bytes:
        return f"the work directory holds {_gib(total)}, over its {_gib(budget.max_bytes)}"
    if free < budget.keep_free_bytes:
        return f"the disk has {_gib(free)} free, under the {_gib(budget.keep_free_bytes)} kept"
    return None


def _gib(size: int) -> str:
    return f"{size / 1024**3:.1f} GiB"


def evict(layout: WorkLayout, package: str) -> bool:
    """Remove ``package``'s folders unless it is running; False when it is."""
    fd = _open_lock(layout, package)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        for folder in layout.package_paths(package):
            _remove(folder)
        layout.footprint_file(package).unlink(missing_ok=True)
        return True
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)

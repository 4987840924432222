"""Load a registry folder (``packages/*.yaml`` + ``index.yaml``) without stopping on bad files."""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import stat as stat_module
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from registry_core.cache import (
    FileKey,
    cache_file_for,
    file_key,
    is_json_safe,
    read_cache,
    write_cache,
)
from registry_core.cacherows import (
    index_from_payload,
    index_payload,
    package_from_payload,
)
from registry_core.errors import FileRefused, RegistryNotFoundError
from registry_core.fileio import outside, read_capped
from registry_core.limits import MAX_INDEX_FILE_BYTES
from registry_core.model import NOT_COMPILED, IndexEntry, PackageEntry
from registry_core.parsing import Parsed, reading_files
from registry_core.problems import WHOLE_FILE, RegistryProblem
from registry_core.results import FileResult

INDEX_NAME = "index.yaml"
PACKAGES_DIR = "packages"


@dataclass
class LoadStats:
    """How a load went: files seen, files read and parsed, files taken from the cache."""

    files: int = 0
    parsed: int = 0
    from_cache: int = 0
    cache_file: Path | None = None
    cache_written: bool = False


class PackageFiles(Mapping[str, Path]):
    """Package file paths by name (file stem), made on demand: a load sees thousands."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.names: dict[str, str] = {}  # stem -> file name

    def __getitem__(self, stem: str) -> Path:
        return self.directory / self.names[stem]

    def __contains__(self, stem: object) -> bool:
        return stem in self.names

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


@dataclass
class LoadedRegistry:
    """Every usable entry by package name, every problem, and the index."""

    root: Path
    entries: dict[str, PackageEntry] = field(default_factory=dict)
    files: PackageFiles = field(init=False)
    problems: list[RegistryProblem] = field(default_factory=list)
    file_strict_problems: list[RegistryProblem] = field(default_factory=list)
    index: list[IndexEntry] = field(default_factory=list)
    index_lines: list[int] = field(default_factory=list)
    index_last_updated: str | None = None
    index_extra: dict[str, Any] = field(default_factory=dict)
    index_found: bool = False
    stats: LoadStats = field(default_factory=LoadStats)

    def __post_init__(self) -> None:
        self.files = PackageFiles(self.root / PACKAGES_DIR)

    @property
    def index_path(self) -> Path:
        return self.root / INDEX_NAME

    @property
    def packages_dir(self) -> Path:
        return self.root / PACKAGES_DIR

    @functools.cached_property
    def strict_problems(self) -> list[RegistryProblem]:
        """The strict problems of the files, then where the index and the files disagree,
        in file/line order (worked out when first asked: listing needs none of them)."""
        found = self.file_strict_problems + _index_consistency(self)
        return sorted(found, key=lambda p: (str(p.file), p.line, p.column, p.field))

    def all_problems(self, strict: bool = False) -> list[RegistryProblem]:
        """The problems, with the strict ones too when ``strict``, in file/line order."""
        found = self.problems + (self.strict_problems if strict else [])
        return sorted(found, key=lambda p: (str(p.file), p.line, p.column, p.field))

    def download_counts(self) -> dict[str, int | None]:
        return {item.name: item.download_count for item in self.index}

    def by_popularity(self, top: int | None = None) -> list[PackageEntry]:
        """Entries in index order (most downloaded first), then those not indexed, by name."""
        ordered = [self.entries[item.name] for item in self.index if item.name in self.entries]
        indexed = {entry.package for entry in ordered}
        ordered += [self.entries[name] for name in sorted(self.entries) if name not in indexed]
        return ordered if top is None else ordered[: max(top, 0)]


def packages_by_popularity(loaded: LoadedRegistry, top: int | None = None) -> list[PackageEntry]:
    """The same as ``loaded.by_popularity(top)``: what ``--top N`` selects."""
    return loaded.by_popularity(top)


class _Reader:
    """Reads each file, or takes what it gave from the cache when the file is unchanged."""

    def __init__(self, root: Path, use_cache: bool) -> None:
        self.root = root
        self.cache_file = cache_file_for(root) if use_cache else None
        self.cached = read_cache(root, self.cache_file)
        self.records: dict[str, tuple[FileKey, Any]] = {}
        self.stats = LoadStats(cache_file=self.cache_file)
        self.dirty = False
        self.real_root = root.resolve()

    def leaves_registry(self, path: Path, problems: list[RegistryProblem]) -> bool:
        """True (and a problem noted) when ``path`` is a link to a file outside the registry:
        it is not read, so a registry never shows (nor an edit copies) what lies there."""
        if not path.is_symlink():
            return False
        target = outside(path, self.real_root)
        if target is None:
            return False
        message = f"a symbolic link out of the registry (to {target}): not read"
        problems.append(RegistryProblem(path, 1, 1, WHOLE_FILE, message))
        return True

    def get(self, rel: str, key: FileKey) -> Any | None:
        hit = self.cached.get(rel)
        if hit is not None and hit[0] == key:
            self.records[rel] = hit
            self.stats.from_cache += 1
            return hit[1]
        return None

    def put(self, rel: str, key: FileKey, payload: Any, extra: Any = None) -> None:
        """Keep ``payload``; only ``extra`` (values of unknown type) may not suit JSON."""
        self.stats.parsed += 1
        if is_json_safe(extra):
            self.records[rel] = (key, payload)
            self.dirty = True

    def finish(self) -> None:
        if self.dirty or set(self.records) != set(self.cached):
            self.stats.cache_written = write_cache(self.root, self.cache_file, self.records)


def _read_problem(path: Path, exc: OSError) -> RegistryProblem:
    reason = exc.strerror or str(exc)
    return RegistryProblem(path, 1, 1, WHOLE_FILE, f"cannot read the file: {reason}")


def _package_names(directory: Path) -> list[str]:
    return sorted(entry.name for entry in os.scandir(directory) if entry.name.endswith(".yaml"))


def _package_slots(reader: _Reader, loaded: LoadedRegistry) -> list[_Slot | None]:
    """A slot per package file, with its result when the cache has it (None for a file
    not to read: its problem is noted)."""
    directory = loaded.packages_dir
    try:
        names = _package_names(directory)
        # Stat by name relative to the open folder: no path walk per file.
        dir_fd: int | None = (
            os.open(directory, os.O_RDONLY) if os.stat in os.supports_dir_fd else None
        )
    except FileNotFoundError:
        return []
    except OSError as exc:
        loaded.problems.append(_read_problem(directory, exc))
        return []
    try:
        return [_from_cache(reader, loaded, directory, name, dir_fd) for name in names]
    finally:
        if dir_fd is not None:
            os.close(dir_fd)


def _load_files(reader: _Reader, loaded: LoadedRegistry) -> None:
    """The package files, and the index while the files the cache missed are read."""
    slots = _package_slots(reader, loaded)
    directory = loaded.packages_dir
    misses = [slot for slot in slots if slot is not None and slot.result is None]
    with reading_files([directory / slot.name for slot in misses]) as results:
        _load_index(reader, loaded)
        for slot, parsed in zip(misses, results(), strict=True):
            _parsed(reader, directory, slot, parsed)
    for kept in slots:
        if kept is not None and kept.result is not None:
            _keep(loaded, kept.result)


@dataclass
class _Slot:
    """One package file on its way: its cache key, and what it gave once known."""

    name: str
    key: FileKey
    result: FileResult | None = None


def _stat_package(
    reader: _Reader, loaded: LoadedRegistry, directory: Path, name: str, dir_fd: int | None
) -> os.stat_result | None:
    """The file's status, or None (and a problem noted) when it is not a file to read.

    One lstat per file: a link is looked at, and followed, only when it is one.
    """
    where = name if dir_fd is not None else str(directory / name)
    try:
        info = os.stat(where, dir_fd=dir_fd, follow_symlinks=False)
        link = stat_module.S_ISLNK(info.st_mode)
        if link:
            info = os.stat(where, dir_fd=dir_fd)
    except OSError as exc:
        loaded.problems.append(_read_problem(directory / name, exc))
        return None
    if link and reader.leaves_registry(directory / name, loaded.problems):
        return None
    if not stat_module.S_ISREG(info.st_mode):
        problem = RegistryProblem(directory / name, 1, 1, WHOLE_FILE, "not a regular file")
        loaded.problems.append(problem)
        return None
    return info


def _from_cache(
    reader: _Reader, loaded: LoadedRegistry, directory: Path, name: str, dir_fd: int | None
) -> _Slot | None:
    """The file's slot, with its result when the cache has it; None when it is no file
    to read (the problem is noted)."""
    reader.stats.files += 1
    loaded.files.names[name[:-5]] = name
    info = _stat_package(reader, loaded, directory, name, dir_fd)
    if info is None:
        return None
    slot = _Slot(name, file_key(info))
    payload = reader.get(f"{PACKAGES_DIR}/{name}", slot.key)
    if payload is not None:
        with contextlib.suppress(KeyError, TypeError, ValueError):
            slot.result = package_from_payload(directory, name, payload)
    return slot


def _parsed(reader: _Reader, directory: Path, slot: _Slot, parsed: Parsed) -> None:
    """What reading the file gave, kept in its slot and the cache."""
    kind, value = parsed
    if kind == "refused":
        problem = RegistryProblem(directory / slot.name, 1, 1, WHOLE_FILE, value)
        slot.result = FileResult(None, [problem])
        return
    slot.result = package_from_payload(directory, slot.name, value)
    row = value[0]
    reader.put(f"{PACKAGES_DIR}/{slot.name}", slot.key, value, None if row is None else row[-2])


def _keep(loaded: LoadedRegistry, result: FileResult) -> None:
    for problem in result.problems:
        (loaded.file_strict_problems if problem.strict else loaded.problems).append(problem)
    if result.entry is not None:
        loaded.entries[result.entry.package] = result.entry


def _load_index(reader: _Reader, loaded: LoadedRegistry) -> None:
    path = loaded.index_path
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    except OSError as exc:
        loaded.problems.append(_read_problem(path, exc))
        return
    loaded.index_found = True
    if reader.leaves_registry(path, loaded.problems):
        return
    if not stat_module.S_ISREG(info.st_mode):
        loaded.problems.append(RegistryProblem(path, 1, 1, WHOLE_FILE, "not a regular file"))
        return
    reader.stats.files += 1
    key = file_key(info)
    payload = reader.get(INDEX_NAME, key)
    try:
        result = index_from_payload(path, payload) if payload is not None else None
    except (KeyError, TypeError, ValueError):
        result = None
    if result is None:
        try:
            raw = read_capped(path, MAX_INDEX_FILE_BYTES)
        except FileRefused as exc:
            loaded.problems.append(RegistryProblem(path, 1, 1, WHOLE_FILE, exc.reason))
            return
        from registry_core.indexfile import check_index_text

        result = check_index_text(path, raw)
        payload = index_payload(result)
        reader.put(INDEX_NAME, key, payload, payload)
    loaded.index = result.entries
    loaded.index_lines = result.lines
    loaded.index_last_updated = result.last_updated
    loaded.index_extra = result.extra
    loaded.problems.extend(result.problems)


def _index_consistency(loaded: LoadedRegistry) -> list[RegistryProblem]:
    """Strict problems: the index and the package files disagree."""
    found: list[RegistryProblem] = []
    if not loaded.index_found:
        return found
    path = loaded.index_path
    listed = set()
    for item, line in zip(loaded.index, loaded.index_lines, strict=False):
        listed.add(item.name)
        where = f"packages[{item.name}]"
        entry = loaded.entries.get(item.name)
        if entry is None:
            if item.name not in loaded.files:
                message = f"no file packages/{item.name}.yaml for this entry"
                found.append(RegistryProblem(path, line, 1, where, message, strict=True))
            continue
        compiled = entry.extension_type.strip().lower() not in NOT_COMPILED
        fresh = {
            "extension_type": "extensions" if compiled else entry.extension_type,
            "enriched": entry.enriched,
            "skip": entry.skip,
            "skip_versions_keys": sorted(entry.skip_versions),
        }
        for name, value in fresh.items():
            if value != getattr(item, name):
                message = (
                    f"stale {name}: index says {getattr(item, name)!r}, "
                    f"the package file gives {value!r} (run `index`)"
                )
                found.append(RegistryProblem(path, line, 1, where, message, strict=True))
    for name in sorted(set(loaded.entries) - listed):
        message = "not listed in index.yaml (run `index`)"
        found.append(RegistryProblem(loaded.files[name], 1, 1, WHOLE_FILE, message, strict=True))
    return found


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while thousands of acyclic objects are made.

    A load allocates only trees of plain values, which reference counting frees; the
    collector's repeated passes over them cost a fifth of a cold or warm load.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_registry(path: Path, *, use_cache: bool = True) -> LoadedRegistry:
    """Load every package file and the index under ``path``.

    Bad files never stop the load: each problem is collected with its file, line and
    column, and every valid entry is still returned. Raises ``RegistryNotFoundError`` only
    when ``path`` is not a registry directory at all.
    """
    root = Path(path)
    if not root.is_dir():
        raise RegistryNotFoundError(f"{root}: no such registry directory")
    if not (root / PACKAGES_DIR).is_dir() and not (root / INDEX_NAME).exists():
        raise RegistryNotFoundError(
            f"{root}: not a registry directory (no {PACKAGES_DIR}/ folder and no {INDEX_NAME})"
        )
    loaded = LoadedRegistry(root=root)
    with _gc_paused():
        reader = _Reader(root, use_cache)
        _load_files(reader, loaded)
        reader.finish()
    loaded.stats = reader.stats
    loaded.problems.sort(key=lambda p: (str(p.file), p.line, p.column, p.field))
    return loaded

"""The on-disk load cache: what each registry file gave, keyed by its size and mtime.

The cache lives in the user's cache directory (``$APIARY_CACHE_DIR``, else
``$XDG_CACHE_HOME/apiary``, else ``~/.cache/apiary``), one JSON file per registry
directory, so registries in read-only places (an installed wheel) are cached too and
checkouts stay clean. ``APIARY_NO_CACHE=1`` turns it off. A missing, corrupt or unwritable
cache is never an error: the registry is then simply read from its files.

A file is trusted from the cache only when its size, mtime and ctime (nanoseconds) and its
inode all match: the ctime moves on every write and cannot be set back, so even an edit
that keeps the size and restores the mtime is seen. Files changed less than two seconds
before the cache is written are not cached, so an edit landing within the filesystem's
timestamp granularity is never missed either.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from pathlib import Path
from typing import Any

from registry_core.fileio import replace_file
from registry_core.model import FIELD_ORDER

CACHE_FORMAT = 3
RACY_WINDOW_NS = 2_000_000_000

FileKey = tuple[int, int, int, int]


def cache_dir() -> Path | None:
    """Where load caches are kept, or None when caching is turned off."""
    if os.environ.get("APIARY_NO_CACHE", "") not in ("", "0"):
        return None
    explicit = os.environ.get("APIARY_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "apiary"


def cache_file_for(root: Path) -> Path | None:
    """The cache file of the registry at ``root`` (None when caching is off)."""
    directory = cache_dir()
    if directory is None:
        return None
    digest = hashlib.sha256(str(root.resolve()).encode("utf-8", "surrogateescape")).hexdigest()
    return directory / "registry" / f"{digest[:24]}.json"


# The modules whose code decides what a file gives: a change to any of them (an upgrade,
# or an edit in a checkout) makes every cached result stale.
_READING_MODULES = (
    "model",
    "checks",
    "quickyaml",
    "yamlread",
    "indexfile",
    "cacherows",
    "limits",
    "results",
    "problems",
)


def _code_stamp() -> list[int]:
    """Size and mtime of each reading module: an upgrade or an edit rewrites them.

    (Cheaper than the package's version from its metadata, which a warm load would
    otherwise spend a tenth of its time looking up.)
    """
    here = Path(__file__).parent
    stamps = []
    for name in _READING_MODULES:
        try:
            info = (here / f"{name}.py").stat()
        except OSError:
            stamps += [0, 0]
        else:
            stamps += [info.st_size, info.st_mtime_ns]
    return stamps


def _header(root: Path) -> dict[str, Any]:
    return {
        "format": CACHE_FORMAT,
        "code": _code_stamp(),
        "fields": list(FIELD_ORDER),
        "root": str(root.resolve()),
    }


def file_key(stat: os.stat_result) -> FileKey:
    return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)


def read_cache(root: Path, cache_file: Path | None) -> dict[str, tuple[FileKey, Any]]:
    """The cached results by relative file name; empty when absent, stale or corrupt."""
    if cache_file is None:
        return {}
    try:
        data = json.loads(cache_file.read_bytes())
        if not isinstance(data, dict) or data.get("header") != _header(root):
            return {}
        files = data["files"]
        records: dict[str, tuple[FileKey, Any]] = {}
        for name, (size, mtime, ctime, ino, payload) in files.items():
            key = (size, mtime, ctime, ino)
            if not all(isinstance(part, int) for part in key):
                return {}
            records[name] = (key, payload)
        return records
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return {}


def is_json_safe(value: Any) -> bool:
    """True when ``value`` comes back from JSON exactly as it went in."""
    try:
        return _json_safe(value)
    except RecursionError:
        return False


def _json_safe(value: Any) -> bool:
    if value is None or isinstance(value, str | bool | int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_json_safe(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_safe(v) for k, v in value.items())
    return False


def write_cache(
    root: Path, cache_file: Path | None, records: dict[str, tuple[FileKey, Any]]
) -> bool:
    """Write the cache atomically; False (never an exception) when it cannot be written."""
    if cache_file is None:
        return False
    settled = time.time_ns() - RACY_WINDOW_NS
    files = {
        name: [*key, payload]
        for name, (key, payload) in records.items()
        if max(key[1], key[2]) < settled
    }
    try:
        text = json.dumps({"header": _header(root), "files": files}, separators=(",", ":"))
        cache_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        replace_file(cache_file, text.encode("utf-8"), mode=0o600)
    except (OSError, ValueError, TypeError, RecursionError):
        return False
    return True

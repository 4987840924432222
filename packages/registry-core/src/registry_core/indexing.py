"""Rebuild ``index.yaml`` from the package files (it is derived data)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import yaml

from registry_core.errors import EditError
from registry_core.fileio import atomic_write
from registry_core.loader import LoadedRegistry
from registry_core.model import IndexEntry, index_entry_for


def sort_key(item: IndexEntry) -> tuple[bool, int, str]:
    """Most downloaded first, unknown counts last, then by name (the format's order)."""
    count = item.download_count
    return (count is None, -(count or 0), item.name)


def build_index(
    loaded: LoadedRegistry, download_counts: Mapping[str, int | None] | None = None
) -> list[IndexEntry]:
    """The index the package files give.

    Download counts come from ``download_counts`` (e.g. what resolve read) else from the
    current index. A package whose file has problems keeps its current index entry, so a
    file broken for a moment does not lose its place.
    """
    counts = loaded.download_counts()
    for name, count in (download_counts or {}).items():
        if count is not None or name not in counts:
            counts[name] = count
    previous = {item.name: item for item in loaded.index}
    items = []
    for name, entry in loaded.entries.items():
        fresh = index_entry_for(entry, counts.get(name))
        old = previous.get(name)
        if old is not None and old.model_extra:
            fresh = IndexEntry.model_validate({**fresh.model_dump(), **old.model_extra})
        items.append(fresh)
    for name, old in previous.items():
        if name not in loaded.entries and name in loaded.files:
            items.append(old)
    return sorted(items, key=sort_key)


def render_index(
    items: list[IndexEntry], last_updated: str, extra: Mapping[str, Any] | None = None
) -> str:
    """``index.yaml`` as the reference tool writes it."""
    data: dict[str, Any] = {"last_updated": last_updated}
    data["packages"] = [item.model_dump() for item in items]
    data.update(extra or {})
    return yaml.safe_dump(data, default_flow_style=False, sort_keys=False, allow_unicode=True)


def now_stamp() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


@dataclass
class IndexUpdate:
    """The rebuilt index: whether it differs from the file, its text, and the diff."""

    changed: bool
    text: str
    diff: str
    entries: list[IndexEntry]


def plan_index(
    loaded: LoadedRegistry,
    download_counts: Mapping[str, int | None] | None = None,
    last_updated: str | None = None,
) -> IndexUpdate:
    """Rebuild the index; ``changed`` is False when only the timestamp would move.

    An index with problems is not rebuilt over: its download counts would be lost.
    """
    broken = [p for p in loaded.problems if p.file == loaded.index_path]
    if broken:
        raise EditError(
            f"{broken[0]} (fix index.yaml first, or delete it to rebuild it without counts)"
        )
    items = build_index(loaded, download_counts)
    current = [item.model_dump() for item in loaded.index]
    same = loaded.index_path.exists() and current == [i.model_dump() for i in items]
    stamp = last_updated or (loaded.index_last_updated if same else None) or now_stamp()
    text = render_index(items, stamp, loaded.index_extra)
    try:
        before = loaded.index_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        before = ""
    diff = "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            text.splitlines(keepends=True),
            fromfile="a/index.yaml",
            tofile="b/index.yaml",
        )
    )
    return IndexUpdate(changed=not same, text=text, diff=diff, entries=items)


def write_index(
    loaded: LoadedRegistry,
    download_counts: Mapping[str, int | None] | None = None,
    last_updated: str | None = None,
) -> IndexUpdate:
    """Rebuild and write ``index.yaml`` when its entries changed."""
    update = plan_index(loaded, download_counts, last_updated)
    if update.changed:
        atomic_write(loaded.index_path, update.text.encode("utf-8"))
    return update

"""What each file gave, in the compact JSON form the load cache keeps, and back.

Entries are stored as rows of values in field order and restored without validating
them again: the cache only holds what validation produced from the very same file
content (same size, mtime, ctime and inode), and skipping validation and default
factories is what makes a warm load cheap.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from registry_core.model import FIELD_ORDER, IndexEntry, PackageEntry
from registry_core.problems import RegistryProblem
from registry_core.results import FileResult, IndexResult

_FIELD_COUNT = len(FIELD_ORDER)


def package_payload(result: FileResult) -> Any:
    """A compact JSON form: the values in field order, the unknown fields, which were set."""
    row = None
    if result.entry is not None:
        entry = result.entry
        values: list[Any] = [getattr(entry, name) for name in FIELD_ORDER]
        given = sum(1 << i for i, name in enumerate(FIELD_ORDER) if name in entry.model_fields_set)
        row = [*values, dict(entry.model_extra or {}), given]
    return [row, [p.to_record() for p in result.problems]]


@functools.cache
def _fields_given(given: int) -> frozenset[str]:
    """The names of the fields set in a file, from their bits (files share a few masks)."""
    return frozenset(name for i, name in enumerate(FIELD_ORDER) if given >> i & 1)


def restore_entry(row: list[Any]) -> PackageEntry:
    """Rebuild an entry from its row; the attributes set are those ``model_construct``
    sets (the round trip is checked against freshly validated entries by the tests)."""
    if len(row) != _FIELD_COUNT + 2 or not isinstance(row[-2], dict):
        raise ValueError("not a cached entry")
    given = row[-1]
    entry = PackageEntry.__new__(PackageEntry)
    object.__setattr__(entry, "__dict__", dict(zip(FIELD_ORDER, row, strict=False)))
    object.__setattr__(entry, "__pydantic_extra__", row[-2])
    object.__setattr__(entry, "__pydantic_fields_set__", {*_fields_given(given), *row[-2]})
    object.__setattr__(entry, "__pydantic_private__", None)
    return entry


def package_from_payload(directory: Path, name: str, payload: Any) -> FileResult:
    row, problems = payload
    entry = None if row is None else restore_entry(row)
    if not problems:
        return FileResult(entry)
    path = directory / name
    return FileResult(entry, [RegistryProblem.from_record(path, r) for r in problems])


_INDEX_FIELDS = tuple(IndexEntry.model_fields)


def index_payload(result: IndexResult) -> Any:
    rows = [
        [*(getattr(item, name) for name in _INDEX_FIELDS), dict(item.model_extra or {})]
        for item in result.entries
    ]
    return {
        "entries": rows,
        "lines": result.lines,
        "last_updated": result.last_updated,
        "extra": result.extra,
        "problems": [p.to_record() for p in result.problems],
    }


def _restore_index_entry(row: list[Any]) -> IndexEntry:
    """Like ``_restore_entry``: cached values were validated from this very file."""
    if len(row) != len(_INDEX_FIELDS) + 1 or not isinstance(row[-1], dict):
        raise ValueError("not a cached index entry")
    item = IndexEntry.__new__(IndexEntry)
    object.__setattr__(item, "__dict__", dict(zip(_INDEX_FIELDS, row, strict=False)))
    object.__setattr__(item, "__pydantic_extra__", row[-1])
    object.__setattr__(item, "__pydantic_fields_set__", {*_INDEX_FIELDS, *row[-1]})
    object.__setattr__(item, "__pydantic_private__", None)
    return item


def index_from_payload(path: Path, payload: Any) -> IndexResult:
    return IndexResult(
        entries=[_restore_index_entry(row) for row in payload["entries"]],
        lines=list(payload["lines"]),
        last_updated=payload["last_updated"],
        extra=dict(payload["extra"]),
        problems=[RegistryProblem.from_record(path, r) for r in payload["problems"]],
    )

"""Text and JSON views of entries for ``list`` and ``show``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from registry_core.loader import LoadedRegistry
from registry_core.model import FIELD_ORDER, PackageEntry


def entry_record(entry: PackageEntry, download_count: int | None) -> dict[str, Any]:
    """Every field, unknown fields, derived facts and the download count."""
    record: dict[str, Any] = {name: getattr(entry, name) for name in FIELD_ORDER}
    record.update(entry.model_extra or {})
    record["has_compiled_code"] = entry.has_compiled_code
    record["effective_import_name"] = entry.effective_import_name
    record["download_count"] = download_count
    return record


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def entries_json(loaded: LoadedRegistry, entries: Sequence[PackageEntry]) -> str:
    counts = loaded.download_counts()
    return _json([entry_record(e, counts.get(e.package)) for e in entries])


def _yes(value: bool) -> str:
    return "yes" if value else "-"


def entries_table(loaded: LoadedRegistry, entries: Sequence[PackageEntry]) -> str:
    """One aligned row per entry, most popular first."""
    counts = loaded.download_counts()
    header = ("package", "downloads", "extension", "enriched", "skip", "framework")
    rows = [header]
    for entry in entries:
        count = counts.get(entry.package)
        rows.append(
            (
                entry.package,
                f"{count:,}" if count is not None else "-",
                entry.extension_type,
                _yes(entry.enriched),
                "yes" if entry.skip else ",".join(sorted(entry.skip_versions)) or "-",
                entry.test_framework,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    line = "  ".join(f"{{:<{width}}}" for width in widths)
    return "\n".join(line.format(*row).rstrip() for row in rows)


def entry_text(loaded: LoadedRegistry, entry: PackageEntry) -> str:
    """Every field of one entry (unset ones marked as defaults), then what is derived."""
    record = entry_record(entry, loaded.download_counts().get(entry.package))
    width = max(len(name) for name in record)
    lines = [f"# {loaded.files.get(entry.package, '')}"]
    for name, value in record.items():
        note = ""
        if name in FIELD_ORDER and name not in entry.model_fields_set:
            note = "  (default: not in the file)"
        elif name in ("has_compiled_code", "effective_import_name", "download_count"):
            note = "  (derived)" if name != "download_count" else "  (index)"
        lines.append(f"{name.ljust(width)}  {json.dumps(value, ensure_ascii=False)}{note}")
    return "\n".join(lines)


def entry_json(loaded: LoadedRegistry, entry: PackageEntry) -> str:
    return _json(entry_record(entry, loaded.download_counts().get(entry.package)))

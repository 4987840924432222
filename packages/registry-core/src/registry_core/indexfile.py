"""Read ``index.yaml``: the popularity-ordered summary of the registry."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from registry_core.checks import MAX_DEPTH, too_deep
from registry_core.fileio import too_large
from registry_core.limits import MAX_INDEX_FILE_BYTES
from registry_core.model import IndexEntry
from registry_core.problems import WHOLE_FILE, RegistryProblem
from registry_core.quickyaml import Declined, quick_load
from registry_core.results import IndexResult
from registry_core.yamlread import YamlProblem, compose, decode, value_of


def _quick_index(path: Path, raw: bytes) -> IndexResult | None:
    """The index as the emitter writes it, read without libyaml (None: not that shape)."""
    try:
        quick = quick_load(raw.decode("utf-8"))
    except (Declined, UnicodeDecodeError):
        return None
    packages = quick.data.get("packages")
    lines = quick.item_lines.get("packages", [])
    if not isinstance(packages, list) or len(lines) != len(packages):
        return None
    return _index_result(path, quick.data, packages, [(line, 1) for line in lines])


def check_index_text(path: Path, raw: bytes) -> IndexResult:
    """Parse and validate ``index.yaml``'s bytes. Never raises for bad content."""
    if len(raw) > MAX_INDEX_FILE_BYTES:
        message = too_large(len(raw), MAX_INDEX_FILE_BYTES)
        return IndexResult(problems=[RegistryProblem(path, 1, 1, WHOLE_FILE, message)])
    quick = _quick_index(path, raw)
    if quick is not None:
        return quick
    result = IndexResult()
    try:
        loader, root = compose(decode(raw))
    except YamlProblem as exc:
        result.problems.append(RegistryProblem(path, exc.line, exc.column, WHOLE_FILE, exc.message))
        return result
    try:
        data = value_of(loader, root) if root is not None else None
    except YamlProblem as exc:
        result.problems.append(RegistryProblem(path, exc.line, exc.column, WHOLE_FILE, exc.message))
        return result
    finally:
        loader.dispose()
    if data is None:
        return result
    if not isinstance(data, dict):
        result.problems.append(
            RegistryProblem(path, 1, 1, WHOLE_FILE, "expected a mapping with a packages list")
        )
        return result
    assert root is not None
    nodes = {str(k.value): v for k, v in root.value}
    packages = data.get("packages")
    node = nodes.get("packages")
    if packages is not None and (not isinstance(packages, list) or node is None):
        line = node.start_mark.line + 1 if node is not None else 1
        result = _index_result(path, data, [], [])
        result.problems.append(RegistryProblem(path, line, 1, "packages", "expected a list"))
        return result
    marks = [(n.start_mark.line + 1, n.start_mark.column + 1) for n in (node.value if node else [])]
    return _index_result(path, data, packages or [], marks)


def _index_result(
    path: Path,
    data: dict[Any, Any],
    packages: list[Any],
    marks: list[tuple[int, int]],
) -> IndexResult:
    result = IndexResult()
    if too_deep(data):
        message = f"a value is nested more than {MAX_DEPTH} levels deep"
        result.problems.append(RegistryProblem(path, 1, 1, WHOLE_FILE, message))
        return result
    stamp = data.get("last_updated")
    if isinstance(stamp, datetime | date):
        stamp = stamp.isoformat()
    result.last_updated = None if stamp is None else str(stamp)
    result.extra = {str(k): v for k, v in data.items() if k not in ("last_updated", "packages")}
    seen: dict[str, int] = {}
    for position, (item, (line, column)) in enumerate(zip(packages, marks, strict=False)):
        where = f"packages[{position}]"
        try:
            entry = IndexEntry.model_validate(item)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            loc = ".".join(str(step) for step in first["loc"])
            message = str(first["msg"]) + (f" ({loc})" if loc else "")
            result.problems.append(RegistryProblem(path, line, column, where, message))
            continue
        if entry.name in seen:
            message = f"{entry.name!r} is listed twice (first at line {seen[entry.name]})"
            result.problems.append(RegistryProblem(path, line, column, where, message))
            continue
        seen[entry.name] = line
        result.entries.append(entry)
        result.lines.append(line)
    return result

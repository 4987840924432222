"""Turn one package file's text into an entry plus the problems found in it.

Plain problems make the file unusable (the entry is dropped); ``strict`` ones (unknown
fields, enriched entries that cannot run as written, ...) only fail ``validate --strict``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError
from yaml.nodes import MappingNode, Node, SequenceNode

from registry_core.fileio import too_large
from registry_core.limits import MAX_PACKAGE_FIELDS, MAX_PACKAGE_FILE_BYTES
from registry_core.model import (
    APIARY_FIELDS,
    FIELD_ORDER,
    KNOWN_EXTENSION_TYPES,
    KNOWN_TEST_FRAMEWORKS,
    PackageEntry,
)
from registry_core.problems import WHOLE_FILE, RegistryProblem
from registry_core.quickyaml import Declined, quick_load
from registry_core.results import FileResult
from registry_core.xdist import in_one_process
from registry_core.yamlread import ParsedDocument, YamlProblem, decode, parse

_KNOWN = frozenset(FIELD_ORDER) | frozenset(APIARY_FIELDS)


def _type_name(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _node_at(node: Node, loc: tuple[int | str, ...]) -> Node:
    """The node a pydantic error location points at, as deep as the tree allows."""
    for position, step in enumerate(loc):
        if isinstance(node, SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
        elif isinstance(node, MappingNode) and isinstance(step, str):
            for key_node, value_node in node.value:
                if str(key_node.value) == step:
                    on_key = position + 1 < len(loc) and loc[position + 1] == "[key]"
                    node = key_node if on_key else value_node
                    break
            else:
                return node
        else:
            return node
    return node


def _where(loc: tuple[int | str, ...]) -> str:
    parts = []
    for step in loc:
        if isinstance(step, int):
            parts.append(f"item {step + 1}")
        elif step != "[key]":
            parts.append(f"key {step!r}")
    return ", ".join(parts)


def _message(item: Any) -> str:
    kind, value, loc = item["type"], item["input"], item["loc"]
    if kind == "string_pattern_mismatch":
        if loc[0] == "package":
            return f"{_shown(value)} is not a valid PyPI project name"
        return f"{_shown(value)} is not a Python version like '3.14'"
    message = str(item["msg"]).removeprefix("Value error, ")
    if kind == "string_type" and (loc[0] == "python_versions" or "[key]" in loc):
        return f"versions must be quoted strings like '3.14', got {_type_name(value)} {value!r}"
    if kind.endswith("_type"):
        return f"{message}, got {_type_name(value)} {_shown(value)}"
    return message


def _validation_problems(
    path: Path, doc: ParsedDocument, error: ValidationError
) -> list[RegistryProblem]:
    problems = []
    for item in error.errors(include_url=False):
        loc = item["loc"]
        name = str(loc[0]) if loc else WHOLE_FILE
        if item["type"] == "missing":
            problems.append(RegistryProblem(path, 1, 1, name, "required field is missing"))
            continue
        message = _message(item)
        line, column = 1, 1
        if name in doc.value_nodes:
            node = _node_at(doc.value_nodes[name], tuple(loc[1:]))
            line, column = node.start_mark.line + 1, node.start_mark.column + 1
        where = _where(tuple(loc[1:]))
        problems.append(
            RegistryProblem(path, line, column, name, f"{where}: {message}" if where else message)
        )
    return problems


def _strict_problems(path: Path, doc: ParsedDocument, entry: PackageEntry) -> list[RegistryProblem]:
    def at(name: str, message: str) -> RegistryProblem:
        pos = doc.positions.get(name) or doc.positions.get("package")
        line, column = (pos.value_line, pos.value_column) if pos else (1, 1)
        return RegistryProblem(path, line, column, name, message, strict=True)

    problems = []
    for name in doc.data:
        if name not in _KNOWN:
            pos = doc.positions[name]
            problems.append(
                RegistryProblem(
                    path, pos.key_line, pos.key_column, name, "unknown field", strict=True
                )
            )
    if entry.extension_type not in KNOWN_EXTENSION_TYPES:
        known = ", ".join(sorted(KNOWN_EXTENSION_TYPES))
        problems.append(
            at("extension_type", f"unknown extension type {entry.extension_type!r} ({known})")
        )
    if entry.test_framework not in KNOWN_TEST_FRAMEWORKS:
        problems.append(at("test_framework", f"unknown test framework {entry.test_framework!r}"))
    if entry.enriched and not entry.skip:
        for name in ("install_command", "test_command"):
            if not (entry.field_value(name) or "").strip():
                problems.append(at(name, "enriched entry has an empty command"))
    if entry.uses_xdist and not entry.skip and not in_one_process(entry.test_command or ""):
        problems.append(
            at("test_command", "uses_xdist is true but the command lacks -p no:xdist (or -n 0)")
        )
    return problems


def _read(text: str) -> ParsedDocument:
    """The quick reader for files as the emitter writes them, libyaml for the rest."""
    try:
        quick = quick_load(text)
    except Declined:
        return parse(text)
    return ParsedDocument(quick.data, quick.positions)


# Deeper values are refused: nobody writes them, and printing them would overflow.
MAX_DEPTH = 32


def too_deep(value: Any) -> bool:
    """True when ``value`` nests lists or mappings more than MAX_DEPTH levels."""
    level = [value]
    for _ in range(MAX_DEPTH):
        level = [
            child
            for item in level
            if isinstance(item, list | dict)
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        if not level:
            return False
    return True


def check_package_text(path: Path, raw: bytes) -> FileResult:
    """Parse and validate one package file's bytes. Never raises for bad content."""
    stem = path.name.removesuffix(".yaml")
    if len(raw) > MAX_PACKAGE_FILE_BYTES:
        message = too_large(len(raw), MAX_PACKAGE_FILE_BYTES)
        return FileResult(None, [RegistryProblem(path, 1, 1, WHOLE_FILE, message)])
    try:
        text = decode(raw)
        doc = _read(text)
    except YamlProblem as exc:
        return FileResult(
            None, [RegistryProblem(path, exc.line, exc.column, WHOLE_FILE, exc.message)]
        )
    refused = _shape_problem(path, doc)
    if refused is not None:
        return FileResult(None, [refused])
    problems = _key_problems(path, doc)
    entry: PackageEntry | None = None
    try:
        entry = PackageEntry.model_validate(doc.data)
    except ValidationError as exc:
        if not doc.value_nodes:  # read by the quick reader: locate values with libyaml
            doc = parse(text)
        problems.extend(_validation_problems(path, doc, exc))
    if entry is not None and entry.package != stem:
        pos = doc.positions["package"]
        message = f"name {entry.package!r} does not match the file name {path.name!r}"
        problems.append(RegistryProblem(path, pos.value_line, pos.value_column, "package", message))
    if problems:
        return FileResult(None, problems)
    assert entry is not None
    return FileResult(entry, _strict_problems(path, doc, entry))


def _shape_problem(path: Path, doc: ParsedDocument) -> RegistryProblem | None:
    """The one problem that stops a file before its fields are read: not a mapping, too
    many fields, a value nested too deeply."""
    data = doc.data
    if data is None:
        message = "file is empty; expected a mapping of fields"
        return RegistryProblem(path, 1, 1, WHOLE_FILE, message)
    if not isinstance(data, dict):
        message = f"expected a mapping of fields, got {_type_name(data)}"
        return RegistryProblem(path, 1, 1, WHOLE_FILE, message)
    if len(data) > MAX_PACKAGE_FIELDS:
        message = f"{len(data)} fields, more than the {MAX_PACKAGE_FIELDS} a file may have"
        return RegistryProblem(path, 1, 1, WHOLE_FILE, message)
    for name, value in data.items():
        if isinstance(name, str) and isinstance(value, list | dict) and too_deep(value):
            pos = doc.positions[name]
            message = f"value nested more than {MAX_DEPTH} levels deep"
            return RegistryProblem(path, pos.value_line, pos.value_column, name, message)
    return None


def _key_problems(path: Path, doc: ParsedDocument) -> list[RegistryProblem]:
    """Field names that are not strings, and fields given twice."""
    problems = [
        RegistryProblem(path, pos.key_line, pos.key_column, shown, "field names must be strings")
        for shown, pos in doc.bad_keys
    ]
    for name, pos, first in doc.duplicates:
        message = f"duplicate field (first at line {first})"
        problems.append(RegistryProblem(path, pos.key_line, pos.key_column, name, message))
    return problems

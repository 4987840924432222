"""Choose packages: ``--where FIELD=VALUE`` / ``FIELD!=VALUE`` and ``--packages a,b``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from registry_core.errors import SelectionError
from registry_core.loader import LoadedRegistry
from registry_core.model import FIELD_ORDER, PACKAGE_NAME, PackageEntry

DERIVED = ("has_compiled_code", "effective_import_name")


@dataclass(frozen=True)
class Condition:
    """One ``--where`` test. Lists match when they contain the value, maps by key."""

    field: str
    value: str
    negated: bool = False

    def matches(self, entry: PackageEntry) -> bool:
        return self._holds(entry.field_value(self.field)) != self.negated

    def _holds(self, actual: Any) -> bool:
        wanted = _as_yaml(self.value)
        if isinstance(actual, list):
            return wanted in actual or self.value in actual
        if isinstance(actual, dict):
            return self.value in actual
        if isinstance(actual, bool) or isinstance(wanted, bool):
            return actual is wanted
        return bool(actual == wanted or (actual is not None and str(actual) == self.value))


def _as_yaml(text: str) -> Any:
    try:
        return yaml.safe_load(text) if text.strip() else text
    except yaml.YAMLError:
        return text


def parse_condition(text: str) -> Condition:
    """``FIELD=VALUE`` or ``FIELD!=VALUE``; VALUE is read as YAML (true, 300, null)."""
    negated = "!=" in text.split("=", 1)[0] + "="
    field, sep, value = text.partition("!=" if negated else "=")
    field = field.strip()
    if not sep or not field:
        raise SelectionError(f"--where {text!r}: expected FIELD=VALUE or FIELD!=VALUE")
    return Condition(field, value.strip(), negated)


def parse_package_names(values: Iterable[str]) -> list[str]:
    """Names from ``--packages a,b --packages c``, each checked as a project name."""
    names = []
    for value in values:
        for part in value.split(","):
            name = part.strip()
            if not name:
                continue
            if not PACKAGE_NAME.match(name):
                raise SelectionError(f"--packages: {name!r} is not a package name")
            names.append(name)
    return names


def _known_fields(loaded: LoadedRegistry) -> set[str]:
    known = set(FIELD_ORDER) | set(DERIVED)
    for entry in loaded.entries.values():
        known.update(entry.model_extra or {})
    return known


def check_conditions(loaded: LoadedRegistry, conditions: Sequence[Condition]) -> None:
    known = _known_fields(loaded)
    for condition in conditions:
        if condition.field not in known:
            raise SelectionError(
                f"--where: unknown field {condition.field!r} (no package file has it)"
            )


def select_entries(
    loaded: LoadedRegistry,
    where: Sequence[str] = (),
    packages: Sequence[str] = (),
    top: int | None = None,
) -> list[PackageEntry]:
    """Valid entries passing every condition, most popular first (``top`` keeps the first N)."""
    conditions = [parse_condition(text) for text in where]
    check_conditions(loaded, conditions)
    names = parse_package_names(packages)
    for name in names:
        if name not in loaded.entries:
            raise SelectionError(_missing(loaded, name))
    chosen = set(names)
    found = [
        entry
        for entry in loaded.by_popularity()
        if (not chosen or entry.package in chosen) and all(c.matches(entry) for c in conditions)
    ]
    return found if top is None else found[: max(top, 0)]


def _missing(loaded: LoadedRegistry, name: str) -> str:
    if name in loaded.files:
        return f"{loaded.files[name]}: has problems (run validate); it cannot be selected"
    return f"no package {name!r} in {loaded.root}"


def select_files(
    loaded: LoadedRegistry, where: Sequence[str] = (), packages: Sequence[str] = ()
) -> list[Path]:
    """The package files an edit touches.

    ``--packages`` names files (even ones with problems, so an edit can repair them);
    ``--where`` needs readable values, so it only picks valid entries. Neither: every
    valid entry.
    """
    conditions = [parse_condition(text) for text in where]
    check_conditions(loaded, conditions)
    names = parse_package_names(packages)
    if names:
        for name in names:
            if name not in loaded.files:
                raise SelectionError(f"no package {name!r} in {loaded.root}")
        files = []
        for name in names:
            entry = loaded.entries.get(name)
            if conditions and (entry is None or not all(c.matches(entry) for c in conditions)):
                continue
            files.append(loaded.files[name])
        return list(dict.fromkeys(files))
    return [
        loaded.files[entry.package]
        for entry in sorted(loaded.entries.values(), key=lambda e: e.package)
        if all(c.matches(entry) for c in conditions)
    ]

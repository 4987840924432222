"""Choose packages: the one ``--where`` language and the one ``--packages`` spec parser.

Every command that selects registry packages (``apiary run``, the ``registry`` commands,
``apiary enrich verify``) reads its ``--where FIELD=VALUE`` / ``FIELD!=VALUE`` filters and
its ``--packages a,b@rev`` lists here, so a filter means the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
        if actual == wanted:
            return True
        # Text compares without regard to case: extension_type=Pure finds "pure".
        return actual is not None and str(actual).casefold() == self.value.casefold()


def _as_yaml(text: str) -> Any:
    import yaml  # only when a --where value is read

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


def parse_conditions(where: Iterable[str]) -> list[Condition]:
    return [parse_condition(text) for text in where]


@dataclass(frozen=True)
class PackageSpec:
    """One item of ``--packages``: a name, and for a run a source revision (``NAME@REV``)."""

    name: str
    rev: str | None = None


def parse_package_specs(values: Iterable[str], *, revisions: bool = True) -> list[PackageSpec]:
    """Specs from ``--packages a,b@rev --packages c``, each name checked as a project name.

    ``revisions=False`` (commands that read the registry, not a source tree) refuses ``@``.
    """
    specs = []
    for value in values:
        for part in value.split(","):
            item = part.strip()
            if item:
                specs.append(_spec(item, revisions))
    return specs


def _spec(item: str, revisions: bool) -> PackageSpec:
    name, sep, rev = item.partition("@") if revisions else (item, "", "")
    if sep and not rev:
        raise SelectionError(f"--packages: {item!r} is not NAME or NAME@REV")
    if not PACKAGE_NAME.match(name):
        raise SelectionError(f"--packages: {name!r} is not a package name")
    return PackageSpec(name, rev or None)


def parse_package_names(values: Iterable[str]) -> list[str]:
    """Names from ``--packages a,b --packages c``, each checked as a project name."""
    return [spec.name for spec in parse_package_specs(values, revisions=False)]


def read_packages_file(path: Path, option: str = "--packages-from") -> list[str]:
    """Items (``NAME`` or ``NAME@REV``) from a file, one per line, ``#`` comments allowed."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SelectionError(f"{option} {path}: {exc.strerror}") from exc
    except UnicodeDecodeError:
        raise SelectionError(f"{option} {path}: not UTF-8 text") from None
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def _known_fields(loaded: LoadedRegistry) -> set[str]:
    known = set(FIELD_ORDER) | set(DERIVED)
    for entry in loaded.entries.values():
        known.update(entry.model_extra or {})
    return known


def check_conditions(loaded: LoadedRegistry, conditions: Sequence[Condition]) -> None:
    """Refuse a field no package file has (a typo would otherwise select nothing)."""
    known = _known_fields(loaded)
    for condition in conditions:
        if condition.field not in known:
            raise SelectionError(
                f"--where: unknown field {condition.field!r} (no package file has it)"
            )


def matches_all(entry: PackageEntry, conditions: Sequence[Condition]) -> bool:
    return all(condition.matches(entry) for condition in conditions)


def select_entries(
    loaded: LoadedRegistry,
    where: Sequence[str] = (),
    packages: Sequence[str] = (),
    top: int | None = None,
) -> list[PackageEntry]:
    """Valid entries passing every condition, most popular first (``top`` keeps the first N)."""
    conditions = parse_conditions(where)
    check_conditions(loaded, conditions)
    names = parse_package_names(packages)
    for name in names:
        if name not in loaded.entries:
            raise SelectionError(_missing(loaded, name))
    chosen = set(names)
    found = [
        entry
        for entry in loaded.by_popularity()
        if (not chosen or entry.package in chosen) and matches_all(entry, conditions)
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
    conditions = parse_conditions(where)
    check_conditions(loaded, conditions)
    names = parse_package_names(packages)
    if names:
        for name in names:
            if name not in loaded.files:
                raise SelectionError(f"no package {name!r} in {loaded.root}")
        files = []
        for name in names:
            entry = loaded.entries.get(name)
            if conditions and (entry is None or not matches_all(entry, conditions)):
                continue
            files.append(loaded.files[name])
        return list(dict.fromkeys(files))
    return [
        loaded.files[entry.package]
        for entry in sorted(loaded.entries.values(), key=lambda e: e.package)
        if matches_all(entry, conditions)
    ]

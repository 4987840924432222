"""Which packages a run tests, and which it skips with a reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from registry_core import LoadedRegistry, PackageEntry

from runner_core.errors import SelectionError


@dataclass(frozen=True)
class Selected:
    entry: PackageEntry
    rev: str | None = None


@dataclass(frozen=True)
class Skipped:
    package: str
    reason: str


@dataclass(frozen=True)
class Invalid:
    package: str
    reason: str


@dataclass
class Selection:
    run: list[Selected] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    invalid: list[Invalid] = field(default_factory=list)


@dataclass(frozen=True)
class SelectionOptions:
    packages: tuple[str, ...] = ()
    top: int | None = None
    where: tuple[str, ...] = ()
    skip_extensions: bool = False
    include_unenriched: bool = False
    force_run: bool = False


def parse_package_specs(raw: list[str]) -> list[tuple[str, str | None]]:
    """``a,b@rev`` (repeatable, comma separated) to ``[(a, None), (b, rev)]``."""
    specs: list[tuple[str, str | None]] = []
    for chunk in raw:
        for raw_item in chunk.split(","):
            item = raw_item.strip()
            if not item:
                continue
            name, sep, rev = item.partition("@")
            if not name or (sep and not rev):
                raise SelectionError(f"--packages: {item!r} is not NAME or NAME@REV")
            specs.append((name, rev or None))
    return specs


def read_packages_file(path: Path) -> list[str]:
    """Names (``NAME`` or ``NAME@REV``) from a file, one per line, ``#`` comments allowed."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SelectionError(f"--packages-from {path}: {exc.strerror}") from exc
    return [
        line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()
    ]


def _parse_where(raw: tuple[str, ...]) -> list[tuple[str, str]]:
    pairs = []
    for item in raw:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SelectionError(f"--where: {item!r} is not FIELD=VALUE")
        if key not in PackageEntry.model_fields:
            known = ", ".join(sorted(PackageEntry.model_fields))
            raise SelectionError(f"--where: unknown field {key!r} (fields: {known})")
        pairs.append((key, value))
    return pairs


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def _matches(entry: PackageEntry, where: list[tuple[str, str]]) -> bool:
    """FIELD=VALUE filters, compared case-insensitively (``true``, ``null``, ``pure``)."""
    return all(_shown(getattr(entry, key)).lower() == wanted.lower() for key, wanted in where)


def skip_reason(entry: PackageEntry, target_minor: str, options: SelectionOptions) -> str | None:
    if options.force_run:
        return None
    if entry.skip:
        return f"registry: skip ({entry.skip_reason or 'no reason given'})"
    versions = entry.skip_versions or {}
    if target_minor in versions:
        return f"registry: skip on Python {target_minor} ({versions[target_minor]})"
    if not entry.enriched and not options.include_unenriched:
        return "not enriched (use --include-unenriched to run it with default commands)"
    if options.skip_extensions and entry.has_compiled_code:
        return f"--skip-extensions: {entry.extension_type}"
    return None


def select(registry: LoadedRegistry, options: SelectionOptions, target_minor: str) -> Selection:
    where = _parse_where(options.where)
    selection = Selection()
    broken = {p.file.stem: str(p) for p in registry.problems}
    if options.packages:
        for name, rev in parse_package_specs(list(options.packages)):
            entry = registry.entries.get(name)
            if entry is None:
                if name in broken:
                    selection.invalid.append(
                        Invalid(name, f"invalid registry entry: {broken[name]}")
                    )
                    continue
                raise SelectionError(f"--packages: {name!r} is not in the registry")
            reason = skip_reason(entry, target_minor, options)
            if reason:
                selection.skipped.append(Skipped(name, reason))
            else:
                selection.run.append(Selected(entry, rev))
        return selection
    for entry in registry.by_popularity():
        if not _matches(entry, where):
            continue
        reason = skip_reason(entry, target_minor, options)
        if reason:
            selection.skipped.append(Skipped(entry.package, reason))
            continue
        selection.run.append(Selected(entry))
        if options.top is not None and len(selection.run) >= options.top:
            break
    return selection

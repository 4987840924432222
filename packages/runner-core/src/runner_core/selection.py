"""Which packages a run tests, and which it skips with a reason."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from registry_core import LoadedRegistry, PackageEntry, SelectionError
from registry_core.select import (
    Condition,
    PackageSpec,
    check_conditions,
    matches_all,
    parse_conditions,
    parse_package_specs,
)


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
    sample: int | None = None
    seed: int = 0
    where: tuple[str, ...] = ()
    skip_extensions: bool = False
    include_unenriched: bool = False
    force_run: bool = False


def skip_reason(entry: PackageEntry, target_minor: str, options: SelectionOptions) -> str | None:
    """Why a run leaves this entry out: the registry's own rule, then the run's options."""
    if options.force_run:
        return None
    registry_reason = entry.skip_reason_for(target_minor)
    if registry_reason is not None:
        return f"registry: {registry_reason}"
    if not entry.enriched and not options.include_unenriched:
        return "not enriched (use --include-unenriched to run it with default commands)"
    if options.skip_extensions and entry.has_compiled_code:
        return f"--skip-extensions: {entry.extension_type}"
    return None


def select(registry: LoadedRegistry, options: SelectionOptions, target_minor: str) -> Selection:
    """The run's packages: ``--packages`` (in the order given) or the registry by
    popularity, both narrowed by ``--where``; ``--top N`` keeps the first N runnable;
    ``--sample N`` then draws N of the runnable ones with ``--seed``, in the same order."""
    selection = _select(registry, options, target_minor)
    if options.sample is not None and options.sample < len(selection.run):
        draw = random.Random(options.seed)  # noqa: S311 - a reproducible draw, not a secret
        drawn = set(draw.sample(range(len(selection.run)), options.sample))
        selection.run = [item for i, item in enumerate(selection.run) if i in drawn]
    return selection


def _select(registry: LoadedRegistry, options: SelectionOptions, target_minor: str) -> Selection:
    conditions = parse_conditions(options.where)
    check_conditions(registry, conditions)
    if options.packages:
        specs = parse_package_specs(options.packages)
        return _named(registry, specs, conditions, options, target_minor)
    selection = Selection()
    for entry in registry.by_popularity():
        if matches_all(entry, conditions):
            _add(selection, Selected(entry), options, target_minor)
        if options.top is not None and len(selection.run) >= options.top:
            break
    return selection


def _named(
    registry: LoadedRegistry,
    specs: list[PackageSpec],
    conditions: list[Condition],
    options: SelectionOptions,
    target_minor: str,
) -> Selection:
    selection = Selection()
    broken = {p.file.stem: str(p) for p in registry.problems}
    for spec in specs:
        entry = registry.entries.get(spec.name)
        if entry is None and spec.name in broken:
            reason = f"invalid registry entry: {broken[spec.name]}"
            selection.invalid.append(Invalid(spec.name, reason))
        elif entry is None:
            raise SelectionError(f"--packages: {spec.name!r} is not in the registry")
        elif matches_all(entry, conditions):
            _add(selection, Selected(entry, spec.rev), options, target_minor)
    return selection


def _add(
    selection: Selection, item: Selected, options: SelectionOptions, target_minor: str
) -> None:
    reason = skip_reason(item.entry, target_minor, options)
    if reason:
        selection.skipped.append(Skipped(item.entry.package, reason))
    else:
        selection.run.append(item)

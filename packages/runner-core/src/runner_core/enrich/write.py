"""Writing what scan proposes (or verify found) into a registry entry, losslessly."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from registry_core import LoadedRegistry, PackageEntry, RegistryError, load_registry
from registry_core.edits import save_entry
from registry_core.indexing import write_index
from registry_core.resolve import skeleton
from runner_core.enrich.errors import EnrichError
from runner_core.enrich.scan import ScanResult

SDIST_FIELD = "sdist_has_tests"
# Machine-written sentences end the notes: scan's, then verify's (what a person wrote
# comes first and stays).
_VERIFY_START = re.compile(r"(?:Not verified|Verified) \d{4}-\d{2}-\d{2}")
_SCAN_NOTE = re.compile(r"Scanned .+?(?=\s*(?:Not verified|Verified) \d{4}-\d{2}-\d{2}|\Z)", re.S)


@dataclass(frozen=True)
class WriteResult:
    path: Path
    created: bool
    changed: bool


def entry_path(loaded: LoadedRegistry, name: str) -> Path:
    return loaded.files.get(name) or loaded.packages_dir / f"{name}.yaml"


def current_entry(loaded: LoadedRegistry, name: str) -> PackageEntry | None:
    """The valid entry for ``name``; EnrichError when its file exists but is broken."""
    entry = loaded.entries.get(name)
    if entry is None and name in loaded.files:
        problem = next((p for p in loaded.problems if p.file == loaded.files[name]), None)
        raise EnrichError(f"{problem or loaded.files[name]}: fix the file first")
    return entry


def with_fields(entry: PackageEntry, values: dict[str, Any]) -> PackageEntry:
    """A copy of ``entry`` with format fields and unknown fields set (validated)."""
    data = entry.model_dump()
    data.update(entry.model_extra or {})
    data.update(values)
    return PackageEntry.model_validate(data)


def scan_summary(result: ScanResult) -> str:
    proposal = result.proposal
    origin = result.target.origin or str(result.target.root)
    test = "; ".join(proposal.test_command.evidence[:2])
    deps = ", ".join(f"{d.name} ({d.why})" for d in proposal.dependencies[1:6])
    text = f"Scanned {origin}: {test or 'no test layout found'}."
    if deps:
        text += f" Test deps: {deps}."
    if proposal.ignored:
        text += (
            f" From the sdist only part of the suite runs (the rest imports"
            f" {', '.join(proposal.missing_local[:3])}, which it lacks): the git repository"
            " has all of it."
        )
    elif proposal.missing_local:
        text += f" Needs git: the sdist lacks {', '.join(proposal.missing_local[:3])}."
    return text


def notes_with_scan(notes: str, summary: str) -> str:
    """``notes`` with ``summary`` in place of an earlier scan's sentence, before verify's;
    what a person wrote stays."""
    text = _SCAN_NOTE.sub("", notes or "").strip()
    verify = _VERIFY_START.search(text)
    head, tail = (text[: verify.start()], text[verify.start() :]) if verify else (text, "")
    return " ".join(part for part in (head.strip(), summary, tail.strip()) if part)


def write_scan(
    registry_dir: Path,
    result: ScanResult,
    *,
    force: bool = False,
    mark_enriched: bool = False,
) -> WriteResult:
    """Fill the registry entry of the scanned package with the proposal.

    A missing entry is created (as resolve would, without asking PyPI); an enriched one is
    refused unless ``force``. ``sdist_has_tests`` is recorded when the tree was an sdist.
    """
    name_raw = result.proposal.package or result.target.package
    if not name_raw:
        raise EnrichError(f"{result.target.root}: no project name found; pass --package NAME")
    name = str(canonicalize_name(name_raw))
    try:
        loaded = load_registry(registry_dir)
    except RegistryError as exc:
        raise EnrichError(str(exc)) from None
    entry = current_entry(loaded, name)
    path = entry_path(loaded, name)
    if entry is not None and entry.enriched and not force:
        raise EnrichError(f"{path}: the entry is enriched; pass --force to overwrite it")
    created = entry is None
    base = entry or skeleton(name, None, "unknown")
    proposal = result.proposal
    values: dict[str, Any] = dict(proposal.fields())
    values["test_framework"] = "pytest"
    values["notes"] = notes_with_scan(base.notes, scan_summary(result))
    if base.extension_type in ("unknown", "") and proposal.extension_type.value != "unknown":
        values["extension_type"] = proposal.extension_type.value
    if result.target.from_sdist:
        # a suite that imports helpers the sdist left out does not run from it, unless
        # the test files that import them are left out
        runs = not proposal.missing_local or bool(proposal.ignored)
        values[SDIST_FIELD] = proposal.has_tests and runs
    if mark_enriched:
        values["enriched"] = True
    try:
        updated = with_fields(base, values)
        changed = save_entry(path, updated)
        write_index(load_registry(registry_dir))
    except (RegistryError, ValueError, OSError) as exc:
        raise EnrichError(f"{path}: cannot write: {exc}") from None
    return WriteResult(path=path, created=created, changed=changed)

"""`apiary enrich record`: the Python versions a finished run saw each entry work on.

A hunt over the registry on a new interpreter is also the check that the entries run
there: every package whose suite reached a verdict (pass or fail) gets the run's minor
version in `python_versions`, as `enrich verify --write` does for its own runs, and so
does one that hung with the JIT on only (its run with PYTHON_JIT=0 finished). Nothing
else changes: a crash, another timeout or an install error adds nothing and removes
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from normalized_events import DEFAULT_CONDITION, PackageFinished, RunStarted, read_events
from normalized_events.layout import RunLayout
from registry_core import RegistryError, load_registry
from registry_core.edits import save_entry
from runner_core.enrich.errors import EnrichError
from runner_core.enrich.hangs import STOPPED
from runner_core.enrich.write import entry_path, with_fields
from runner_core.interpreter import probe_interpreter


@dataclass(frozen=True)
class VersionRecord:
    """One entry the run saw reach a verdict, and what recording it changes."""

    package: str
    minor: str
    outcome: str
    added: bool


def _minors_by_condition(started: RunStarted) -> dict[str, str]:
    """Each condition's interpreter minor version (a condition may bring its own)."""
    minors: dict[str, str] = {}
    default = started.interpreter.version.rsplit(".", 1)[0]
    for condition in started.options.conditions:
        if condition.python:
            minors[condition.name] = probe_interpreter(condition.python).minor
        else:
            minors[condition.name] = default
    return minors or {DEFAULT_CONDITION: default}


def jit_only_hang(event: PackageFinished) -> str | None:
    """The bucket and triage of a suite that hung with the JIT on only (and finished
    with PYTHON_JIT=0 on the same build): the entry works there, the JIT failed."""
    crash = event.crash
    if crash is None or event.outcome not in STOPPED or crash.jit_only is not True:
        return None
    return f"bucket {crash.bucket}, {crash.jit_only_reason or 'finished with PYTHON_JIT=0'}"


def verdicts_of(run_dir: Path) -> list[tuple[str, str, str]]:
    """(package, minor, outcome) for each package and condition that reached a verdict."""
    path = RunLayout(run_dir).events
    if not path.is_file():
        raise EnrichError(f"{run_dir}: not a run directory (no {path.name})")
    events = read_events(path).known()
    started = next((e for e in events if isinstance(e, RunStarted)), None)
    if started is None:
        raise EnrichError(f"{path}: no run_started event")
    minors = _minors_by_condition(started)
    found: dict[tuple[str, str], str] = {}
    for event in events:
        if not isinstance(event, PackageFinished):
            continue
        if event.outcome.verified or jit_only_hang(event):
            minor = minors.get(event.condition) or minors[next(iter(minors))]
            jit = "" if event.outcome.verified else " (JIT only)"
            found[(event.package, minor)] = event.outcome.value + jit
    return [(package, minor, outcome) for (package, minor), outcome in sorted(found.items())]


def _sorted_minors(minors: set[str]) -> list[str]:
    return sorted(minors, key=lambda m: tuple(int(p) for p in m.split(".")), reverse=True)


def record_versions(registry_dir: Path, run_dir: Path, write: bool) -> list[VersionRecord]:
    """What the run says about each entry's versions; written when ``write``."""
    loaded = load_registry(registry_dir)
    records: list[VersionRecord] = []
    for package, minor, outcome in verdicts_of(run_dir):
        entry = loaded.entries.get(package)
        if entry is None:
            continue
        added = minor not in entry.python_versions
        records.append(VersionRecord(package, minor, outcome, added))
        if not (added and write):
            continue
        updated = with_fields(
            entry, {"python_versions": _sorted_minors({*entry.python_versions, minor})}
        )
        path = entry_path(loaded, package)
        try:
            save_entry(path, updated)
        except (RegistryError, OSError) as exc:
            raise EnrichError(f"{path}: cannot write: {exc}") from None
        loaded.entries[package] = updated
    return records

"""What verify learnt about a package, and how it is written into the package's entry:
commands, `enriched`, `python_versions`, skips where a run never reached its tests, a
timeout from the measured test time, `sdist_has_tests`, and one sentence in the notes."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from normalized_events import Outcome
from registry_core import PackageEntry, RegistryError, load_registry
from registry_core.edits import save_entry
from registry_core.indexing import write_index
from runner_core.enrich.errors import EnrichError
from runner_core.enrich.write import SDIST_FIELD, entry_path, with_fields
from runner_core.interpreter import Interpreter

_VERIFY_NOTE = re.compile(
    r"\s*Verified \d{4}-\d{2}-\d{2}.*$|\s*Not verified \d{4}-\d{2}-\d{2}.*$", re.S
)
_SKIP_PREFIX = "verify: "
MIN_TIMEOUT = 300
MAX_TIMEOUT = 3600


@dataclass
class Result:
    """One package under one interpreter in one round."""

    outcome: Outcome
    reason: str | None
    version: str | None
    test_s: float | None
    source_kind: str | None
    source_fallback: str | None = None
    hung_test: str | None = None  # a stopped suite: the test its hang record names
    pytest_version: str | None = None  # the pytest its venv had
    # a suite that hung only with the JIT on, and finished with PYTHON_JIT=0 on the same
    # build: the entry works there, the JIT is what failed (its bucket and triage)
    jit_only_hang: str | None = None
    # stopped at its time limit with a thread still running: slow, or a loop
    busy: bool = False

    @property
    def reached_tests(self) -> bool:
        """The suite ran to its verdict here, or would have but for a JIT-only hang."""
        return self.outcome.verified or self.jit_only_hang is not None


@dataclass
class Attempt:
    change: str | None
    results: dict[str, Result]  # minor -> result


@dataclass
class Verification:
    """Everything verify learnt about one package."""

    name: str
    original: PackageEntry
    entry: PackageEntry
    attempts: list[Attempt] = field(default_factory=list)
    tried: list[str] = field(default_factory=list)

    @property
    def last(self) -> dict[str, Result]:
        return self.attempts[-1].results if self.attempts else {}

    @property
    def verified(self) -> bool:
        return any(r.outcome.verified for r in self.last.values())

    def summary(self) -> str:
        parts = [
            f"{r.outcome.value} on {minor}" + (f" ({r.reason})" if r.reason else "")
            for minor, r in sorted(self.last.items())
        ]
        return "; ".join(parts) or "not run"


def _never_reached_tests(outcome: Outcome) -> bool:
    # apiary's own error says nothing about the package: it is never a reason to skip.
    return outcome.untestable and outcome is not Outcome.ERROR


def suggested_timeout(test_s: float | None, current: int | None) -> int | None:
    """Five times the measured test time, in whole minutes, within [300, 3600] seconds."""
    if test_s is None:
        return current
    return int(min(MAX_TIMEOUT, max(MIN_TIMEOUT, math.ceil(test_s * 5 / 60) * 60)))


def notes_for(item: Verification, interpreters: Sequence[Interpreter]) -> str:
    """The entry's notes with this verification's sentence in place of the previous one."""
    base = _VERIFY_NOTE.sub("", item.original.notes or "").strip()
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    last = item.last
    version = next((r.version for r in last.values() if r.version), None)
    kind = next((r.source_kind for r in last.values() if r.source_kind), None)
    versions = {i.minor: i.info.version for i in interpreters}
    shown = "; ".join(
        f"{r.outcome.value} on CPython {versions.get(minor, minor)}"
        + (f" ({r.reason})" if r.reason else "")
        + (f" [JIT only: {r.jit_only_hang}]" if r.jit_only_hang else "")
        for minor, r in sorted(last.items())
    )
    head = "Verified" if item.verified else "Not verified"
    source = f" from the {kind} of {version}" if kind and version else ""
    sentence = f"{head} {day} by apiary enrich verify{source}: {shown or 'not run'}."
    fallback = next((r.source_fallback for r in last.values() if r.source_fallback), None)
    if fallback:
        sentence += f" Source: {fallback}."
    if item.tried:
        sentence += " Tried: " + "; ".join(item.tried) + "."
    return f"{base} {sentence}".strip()


def _sdist_verdict(item: Verification) -> bool:
    """Some run of this verification reached a verdict from the sdist."""
    return any(
        r.source_kind == "sdist" and r.outcome.verified
        for attempt in item.attempts
        for r in attempt.results.values()
    )


def record(registry_dir: Path, item: Verification, interpreters: Sequence[Interpreter]) -> bool:
    """Write what verify learnt into the package's file; True when it changed."""
    loaded = load_registry(registry_dir)
    path = entry_path(loaded, item.name)
    values: dict[str, Any] = {"notes": notes_for(item, interpreters)}
    last = item.last
    if item.verified:
        primary = last.get(interpreters[0].minor)
        values["install_command"] = item.entry.install_command
        values["test_command"] = item.entry.test_command
        values["enriched"] = True
        # Versions verified earlier stay, unless this run saw them fail to reach a verdict.
        good = {m for m in item.original.python_versions if m not in last}
        good |= {m for m, r in last.items() if r.reached_tests}
        values["python_versions"] = sorted(
            good, key=lambda m: tuple(int(p) for p in m.split(".")), reverse=True
        )
        skips = {
            k: v
            for k, v in item.original.skip_versions.items()
            if not v.startswith(_SKIP_PREFIX) or k not in last
        }
        for minor, result in last.items():
            # Only a run that never got to the tests is skipped there; a crash, a
            # timeout or a hang is what apiary is looking for, never hidden.
            if _never_reached_tests(result.outcome):
                skips[minor] = (
                    f"{_SKIP_PREFIX}{result.outcome.value}: {result.reason or ''}".strip()
                )
        values["skip_versions"] = skips
        timing = primary if primary and primary.outcome.verified else None
        if timing is None:
            timing = next(r for r in last.values() if r.outcome.verified)
        values["timeout"] = suggested_timeout(timing.test_s, item.entry.timeout)
        if timing.source_kind == "sdist":
            values[SDIST_FIELD] = True
        elif timing.source_kind == "git" and not _sdist_verdict(item):
            # what was verified is the repository: `--source auto` must clone it
            values[SDIST_FIELD] = False
    updated = with_fields(item.original, values)
    try:
        changed = save_entry(path, updated)
        write_index(load_registry(registry_dir))  # `enriched` and skips are in the index
    except (RegistryError, OSError) as exc:
        raise EnrichError(f"{path}: cannot write: {exc}") from None
    return changed

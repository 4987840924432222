"""Testing one commit: of the package (fixed interpreter) or of CPython (fixed package).

A package step fetches the package at the commit, installs it into a venv of the
interpreter and runs the reproducer; a CPython step first builds the commit
incrementally (`runner_core.pythons.stepbuild`) and then does the same with the package
at its fixed revision, on that build.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from normalized_events import EventWriter, Step
from registry_core import PackageEntry

from runner_core.bisect.verdict import StepResult, try_step, untestable
from runner_core.pipeline import prepare_package
from runner_core.pythons import BuildError
from runner_core.pythons.phases import Report
from runner_core.pythons.stepbuild import build_commit
from runner_core.settings import RunSettings


class Tester(Protocol):
    def test(self, commit: str, tries: int, bucket: str | None) -> StepResult: ...


def _quiet(phase: str, detail: str) -> None:
    del phase, detail


def _run_package(
    entry: PackageEntry,
    rev: str | None,
    settings: RunSettings,
    writer: EventWriter,
    log_dir: Path,
    tries: int,
    bucket: str | None,
) -> StepResult:
    prepared = prepare_package(entry, rev, settings, writer, log_dir)
    if isinstance(prepared, tuple):
        outcome, reason = prepared
        return untestable(f"{outcome.value}: {reason}")
    command = prepared.test_command
    return try_step(lambda: prepared.suite.attempt(Step.TEST, command).verdict, tries, bucket)


@dataclass(frozen=True)
class PackageTester:
    """Each step is a commit of the package, on the one interpreter of `settings`."""

    entry: PackageEntry
    settings: RunSettings
    writer: EventWriter
    folder: Path

    def test(self, commit: str, tries: int, bucket: str | None) -> StepResult:
        log_dir = self.folder / "steps" / commit[:12]
        return _run_package(self.entry, commit, self.settings, self.writer, log_dir, tries, bucket)


@dataclass(frozen=True)
class CPythonTester:
    """Each step is a commit of CPython, built as `variant`; the package stays at `rev`."""

    entry: PackageEntry
    rev: str | None
    settings: RunSettings
    writer: EventWriter
    folder: Path
    checkout: Path
    variant: str
    llvm: int | None = None
    cache: Path | None = None
    report: Report = field(default=_quiet)

    def test(self, commit: str, tries: int, bucket: str | None) -> StepResult:
        step_dir = self.folder / "steps" / commit[:12]
        prefix = step_dir / "python"
        try:
            built = build_commit(
                self.checkout,
                commit,
                self.variant,
                prefix,
                llvm=self.llvm,
                cache=self.cache,
                report=self.report,
            )
        except BuildError as exc:
            return untestable(f"build failed: {exc}")
        try:
            settings = self.settings.model_copy(update={"target_python": str(built.python)})
            found = _run_package(
                self.entry, self.rev, settings, self.writer, step_dir, tries, bucket
            )
        finally:
            shutil.rmtree(prefix, ignore_errors=True)  # each step's install is ~200 MB
        return StepResult(
            found.verdict, found.reason, found.tries, found.bucket, found.signature, built.seconds
        )

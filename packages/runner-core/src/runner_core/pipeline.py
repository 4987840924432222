"""One package under one condition: source, venv, install, import check (``preparing``),
then its tests; the ``package_finished`` event of it all."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from normalized_events import (
    Condition,
    CrashInfo,
    EventWriter,
    Outcome,
    PackageFinished,
)
from registry_core import PackageEntry

from runner_core.errors import full_disk
from runner_core.forensics import hang_info, record_crash
from runner_core.iterations import Iterations, run_iterations
from runner_core.planted import PlantedLink
from runner_core.preparing import (
    DEFAULT_INSTALL,
    DEFAULT_TEST,
    Finish,
    PackageState,
    PreparedSuite,
    condition_python,
    prepare,
)
from runner_core.races import package_races
from runner_core.settings import RunSettings
from runner_core.sources import discard_source
from runner_core.steps import StepRunner
from runner_core.suite import Attempt
from runner_core.triage import triage, triage_hang

__all__ = [
    "DEFAULT_INSTALL",
    "DEFAULT_TEST",
    "PackageJob",
    "PreparedSuite",
    "condition_python",
    "prepare_package",
    "run_package",
]


@dataclass(frozen=True)
class PackageJob:
    """One package under every condition of the run that it has not finished yet."""

    entry: PackageEntry
    rev: str | None
    conditions: tuple[Condition, ...]


def prepare_package(
    entry: PackageEntry,
    rev: str | None,
    settings: RunSettings,
    writer: EventWriter,
    log_dir: Path,
) -> PreparedSuite | tuple[Outcome, str | None]:
    """The package at `rev` installed for its tests (logs in `log_dir`), or why it is not:
    the outcome (source, install or import error) and its reason."""
    condition = Condition()
    runner = _step_runner(entry.package, condition, settings, writer, log_dir)
    prepared = prepare(entry, rev, condition, settings, writer, runner, PackageState())
    if isinstance(prepared, Finish):
        return prepared.outcome, prepared.reason
    return prepared


def _step_runner(
    name: str, condition: Condition, settings: RunSettings, writer: EventWriter, log_dir: Path
) -> StepRunner:
    return StepRunner(
        writer=writer,
        package=name,
        condition=condition.name,
        log_dir=log_dir,
        run_dir=settings.run_dir,
        backend=settings.sandbox_backend,
        memory_bytes=settings.memory_bytes,
        pass_env=(*settings.env, *condition.env, *settings.pass_env),
        processes=settings.processes,
        tmp_bytes=settings.tmp_bytes,
        disk_bytes=settings.disk_bytes,
        trusted=(settings.work_dir, settings.run_dir),
    )


def run_package(
    entry: PackageEntry,
    rev: str | None,
    condition: Condition,
    settings: RunSettings,
    writer: EventWriter,
) -> PackageFinished:
    """Run every step for one package and condition; return (not write) its outcome."""
    started = time.monotonic()
    name = entry.package
    log_dir = settings.layout.log_dir(name, condition.name)
    runner = _step_runner(name, condition, settings, writer, log_dir)
    state = PackageState()
    try:
        try:
            finish = _pipeline(entry, rev, condition, settings, writer, runner, state)
        finally:
            if runner.filled_disk and state.source is not None:
                discard_source(state.source, settings.work.sources)
    except PlantedLink as exc:
        finish = Finish(Outcome.ERROR, str(exc))
    except Exception as exc:  # a harness fault: recorded, and the run goes on
        stop = full_disk(exc, settings.run_dir)
        if stop is not None:
            raise stop from None
        error_log = log_dir / "error.log"
        try:
            error_log.parent.mkdir(parents=True, exist_ok=True)
            error_log.write_text(traceback.format_exc())
        except OSError as failed:
            stop = full_disk(failed, settings.run_dir)
            if stop is not None:
                raise stop from None
            raise
        last = traceback.format_exc().strip().splitlines()[-1]
        finish = Finish(Outcome.ERROR, f"harness error: {last} (see {error_log.name})")
    return PackageFinished(
        run_id=settings.run_id,
        package=name,
        condition=condition.name,
        outcome=finish.outcome,
        reason=finish.reason,
        crash=state.crash,
        package_version=state.version,
        source_revision=state.revision,
        installed=state.installed,
        installer=state.installer,
        install_failure=finish.install_failure,
        source_used=state.source.kind if state.source else None,
        source_fallback=state.source.fallback if state.source else None,
        durations={k: round(v, 4) for k, v in state.durations.items()},
        duration_s=round(time.monotonic() - started, 4),
        gil=state.gil,
        gil_enabled_by=state.gil_enabled_by,
        hash_seed=state.hash_seed,
        races=state.races,
        **_iteration_fields(state.iterations),
    )


def _iteration_fields(runs: Iterations | None) -> dict[str, Any]:
    if runs is None:
        return {}
    return {
        "iterations": len(runs.attempts),
        "iteration_outcomes": runs.outcomes if len(runs.attempts) > 1 else [],
        "flaky_tests": runs.flaky_tests(),
    }


def _pipeline(
    entry: PackageEntry,
    rev: str | None,
    condition: Condition,
    settings: RunSettings,
    writer: EventWriter,
    runner: StepRunner,
    state: PackageState,
) -> Finish:
    prepared = prepare(entry, rev, condition, settings, writer, runner, state)
    if isinstance(prepared, Finish):
        return prepared
    return _test(prepared, settings, condition, state)


def _hang(prepared: PreparedSuite, settings: RunSettings, first: Attempt) -> CrashInfo:
    """A hung suite's record, with whether it recurs and needs the JIT (`triage_hang`)."""
    info = hang_info(first, settings.run_dir)
    if not settings.crash_reruns:
        return info
    found = triage_hang(
        first,
        prepared.suite.attempt,
        suite_command=prepared.test_command,
        interpreter=prepared.interpreter.info,
        env=prepared.suite.env(None),
        backend=prepared.suite.runner.backend,
    )
    return info.model_copy(
        update={
            "reproducible": found.reproducible,
            "jit_only": found.jit.only,
            "jit_only_reason": found.jit.reason,
        }
    )


def _test(
    prepared: PreparedSuite, settings: RunSettings, condition: Condition, state: PackageState
) -> Finish:
    """The tests, JIT on, `--iterations` times at most; a crash is triaged and its
    evidence recorded."""
    suite, test_command, interpreter = prepared.suite, prepared.test_command, prepared.interpreter
    runs = run_iterations(
        suite.attempt,
        test_command,
        settings.iterations,
        every=settings.all_iterations,
        junit=suite.junit,
    )
    state.iterations = runs
    for attempt in runs.attempts:
        state.saw_gil_warnings(attempt.output)
    state.races, problems = package_races(runs.attempts, settings.run_dir)
    _note(runs.attempts[-1], [*runs.problems(), *problems])
    first = runs.decisive
    verdict = runs.verdict()
    if first.hang is not None:
        state.crash = _hang(prepared, settings, first)
    if verdict.outcome is not Outcome.CRASH or verdict.crash is None:
        return Finish(verdict.outcome, verdict.reason)
    env = suite.env(None)
    found = triage(
        first,
        suite.attempt,
        suite_command=test_command,
        crash_reruns=settings.crash_reruns,
        tries=max(1, settings.crash_reruns),
        interpreter=interpreter.info,
        env=env,
        cwd=prepared.source.path,
    )
    state.crash = record_crash(
        settings=settings,
        package=suite.runner.package,
        condition=condition.name,
        first=first,
        found=found,
        interpreter=interpreter,
        source=prepared.source,
        install_command=prepared.install_command,
        extra_deps=settings.extra_deps,
        test_command=test_command,
        test_env=env,
        user_env=prepared.user_env,
    )
    return Finish(Outcome.CRASH, verdict.reason)


def _note(attempt: Attempt, problems: list[str]) -> None:
    """Lines about what could not be read (JUnit XML, TSan reports), in the last test log."""
    if not problems:
        return
    try:
        with attempt.step.log_path.open("a", encoding="utf-8") as log:
            log.writelines(f"apiary: {problem}\n" for problem in problems)
    except OSError:
        pass

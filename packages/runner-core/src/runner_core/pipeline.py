"""One package under one condition: source, venv, install, import check, tests."""

from __future__ import annotations

import shutil
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from normalized_events import (
    Condition,
    CrashInfo,
    EventWriter,
    InstallFailure,
    Outcome,
    PackageFinished,
    PackageStarted,
    RaceInfo,
    Step,
)
from registry_core import PackageEntry

from runner_core import outcomes
from runner_core.aslr import aslr_can_be_disabled
from runner_core.commands import (
    CommandStep,
    Installer,
    install_packages_step,
    named_host_paths,
    needs_seeded_venv,
    plan_steps,
    pytest_addopts,
    safe_path_of,
    with_suffix,
)
from runner_core.environment import (
    base_env,
    env_for_import,
    env_for_install,
    local_indexes,
    package_cache,
)
from runner_core.errors import RunnerError, full_disk
from runner_core.evidence import install_agent
from runner_core.forensics import hang_info, record_crash
from runner_core.gil import GilMode, gil_enabled_by, gil_mode
from runner_core.interpreter import Interpreter, probe_interpreter
from runner_core.inventory import inventory_step, read_inventory
from runner_core.iterations import Iterations, run_iterations
from runner_core.junit import writes_junit
from runner_core.limits import SourceLimits
from runner_core.races import package_races
from runner_core.sanitizers import SanitizerPolicy, memory_policy
from runner_core.settings import RunSettings
from runner_core.sources import FetchedSource, SourceRequest, discard_source, fetch_source
from runner_core.steps import StepOutcome, StepRunner
from runner_core.suite import Attempt, SuiteRunner
from runner_core.timeouts import suite_limits, timeout_scale
from runner_core.tooling import find_uv
from runner_core.triage import triage
from runner_core.venvs import (
    Venv,
    VenvKey,
    create_venv,
    lookup_venv,
    mark_ready,
    recorded_distributions,
)

DEFAULT_INSTALL = "pip install -e ."
DEFAULT_TEST = "python -m pytest"


@dataclass(frozen=True)
class PackageJob:
    """One package under every condition of the run that it has not finished yet."""

    entry: PackageEntry
    rev: str | None
    conditions: tuple[Condition, ...]


@dataclass
class _Finish:
    outcome: Outcome
    reason: str | None = None
    install_failure: InstallFailure | None = None


def condition_python(settings: RunSettings, condition: Condition) -> str:
    return condition.python or settings.target_python


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
    prepared = _prepare(entry, rev, condition, settings, writer, runner, _State())
    if isinstance(prepared, _Finish):
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
    state = _State()
    try:
        try:
            finish = _pipeline(entry, rev, condition, settings, writer, runner, state)
        finally:
            if runner.filled_disk and state.source is not None:
                discard_source(state.source, settings.work_dir / "sources")
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
        finish = _Finish(Outcome.ERROR, f"harness error: {last} (see {error_log.name})")
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


@dataclass
class _State:
    """What the steps learnt, for the package_finished event."""

    version: str | None = None
    revision: str | None = None
    installed: dict[str, str] = field(default_factory=dict)
    crash: CrashInfo | None = None
    installer: str | None = None
    source: FetchedSource | None = None
    durations: dict[str, float] = field(default_factory=dict)
    gil: GilMode | None = None
    gil_enabled_by: list[str] = field(default_factory=list)
    iterations: Iterations | None = None
    races: list[RaceInfo] = field(default_factory=list)

    def saw_gil_warnings(self, output: str) -> None:
        for name in gil_enabled_by(output):
            if name not in self.gil_enabled_by:
                self.gil_enabled_by.append(name)

    def took(self, outcome: StepOutcome) -> None:
        step = outcome.step.value
        self.durations[step] = self.durations.get(step, 0.0) + outcome.duration_s


@dataclass(frozen=True)
class PreparedSuite:
    """A package installed and importable: its test command, ready to be run (again)."""

    suite: SuiteRunner
    test_command: str
    interpreter: Interpreter
    source: FetchedSource
    install_command: str
    user_env: dict[str, str]


def _pipeline(
    entry: PackageEntry,
    rev: str | None,
    condition: Condition,
    settings: RunSettings,
    writer: EventWriter,
    runner: StepRunner,
    state: _State,
) -> _Finish:
    prepared = _prepare(entry, rev, condition, settings, writer, runner, state)
    if isinstance(prepared, _Finish):
        return prepared
    return _test(prepared, settings, condition, state)


def _prepare(
    entry: PackageEntry,
    rev: str | None,
    condition: Condition,
    settings: RunSettings,
    writer: EventWriter,
    runner: StepRunner,
    state: _State,
) -> PreparedSuite | _Finish:
    """Source, venv, install and import check: the suite ready to run, or why not."""
    name = entry.package
    interpreter = probe_interpreter(condition_python(settings, condition))
    runner.memory_limit, policy = memory_policy(
        interpreter.info, settings.memory_bytes, settings.leaks, settings.tsan_suppressions
    )
    repo = settings.repo_overrides.get(name, entry.repo)
    kind = settings.source
    if (
        kind == "auto"
        and entry.field_value("sdist_has_tests") is True
        and name not in settings.repo_overrides
    ):
        # The registry verified that the sdist carries the test suite: no clone needed.
        kind = "sdist"
    request = SourceRequest(
        package=name,
        kind=kind,
        repo=repo,
        rev=rev,
        clone_depth=entry.clone_depth,
    )
    writer.emit(
        PackageStarted(
            run_id=settings.run_id,
            package=name,
            condition=condition.name,
            source_kind=kind,
            source_ref=f"{repo or name}@{rev}" if rev else (repo or name),
        )
    )

    # The source.
    fetched: list[FetchedSource] = []
    source_dir = settings.work_dir / "sources"
    limits = SourceLimits.within(settings.timeout_s)
    try:
        outcome = runner.python_step(
            Step.SOURCE,
            f"fetch {request.kind} {request.repo or name}",
            lambda log: fetched.append(fetch_source(request, source_dir, log, limits)),
        )
    except RunnerError as exc:
        return _Finish(Outcome.SOURCE_ERROR, str(exc))
    state.took(outcome)
    source = fetched[0]
    state.version = source.version
    state.revision = source.revision
    state.source = source

    # The environment; the venv and the install (_build_venv) unless cached.
    uv = find_uv()
    installer: Installer = "pip" if settings.installer == "pip" or uv is None else "uv"
    install_command = (
        entry.install_command if entry.install_command is not None else DEFAULT_INSTALL
    )
    test_command = settings.test_command_override or entry.test_command or DEFAULT_TEST
    test_command = with_suffix(test_command, settings.test_command_suffix)
    key = VenvKey(
        package=name,
        interpreter=interpreter.identity,
        install_command=install_command,
        extra_deps=tuple(settings.extra_deps),
        installer=settings.installer,
        source_revision=source.revision,
        seeded=_seeded(interpreter, install_command, test_command, installer, uv),
    )
    venv = lookup_venv(settings.work_dir / "venvs", key, settings.refresh)
    home = settings.work_dir / "home" / name
    home.mkdir(parents=True, exist_ok=True)
    base = base_env(venv.bin, home)
    # No step but the install sees the package's installer cache (see package_cache).
    writable = [source.path, venv.path, home]

    if not venv.ready:
        finish = _build_venv(
            runner,
            state,
            venv,
            key,
            interpreter,
            uv,
            installer,
            settings,
            source,
            base,
            writable,
            policy,
            entry.test_framework,
        )
        if finish is not None:
            return finish

    # The import check, JIT off.
    import_name = entry.effective_import_name
    check = runner.run(
        Step.IMPORT_CHECK,
        [CommandStep((str(venv.python), "-c", f"import {import_name}"))],
        cwd=source.path,
        env=env_for_import(base, policy) | safe_path_of(test_command),
        network=False,
        writable=writable,
        timeout_s=300,
        idle_timeout_s=None,
    )
    state.took(check)
    state.saw_gil_warnings(check.output())
    recorded = recorded_distributions(venv)
    state.installed = recorded if recorded is not None else read_inventory(venv.path)
    if not check.ok:
        verdict = outcomes.classify_import(check.status, check.output())
        state.crash = verdict.crash_info
        return _Finish(verdict.outcome, verdict.reason)

    # The tests, JIT on, with the crash evidence kept.
    install_agent(venv.path)
    user_env = {**settings.env, **condition.env}
    state.gil = gil_mode(interpreter.info, user_env)
    scale = timeout_scale(interpreter.info, settings.timeout_scale)
    time_limits = suite_limits(entry.timeout, settings.timeout_s, settings.idle_timeout_s, scale)
    suite = SuiteRunner(
        runner=runner,
        python=venv.python,
        installer=installer,
        uv=uv,
        cwd=source.path,
        base_env=base,
        user_env=user_env,
        pytest_addopts=pytest_addopts(user_env.get("PYTEST_ADDOPTS"), entry.uses_xdist),
        network=settings.network_during_tests,
        writable=writable,
        timeout_s=time_limits.timeout_s,
        idle_timeout_s=time_limits.idle_timeout_s,
        framework=entry.test_framework,
        on_step=state.took,
        policy=policy,
        readable=[policy.tsan_suppressions] if policy.tsan_suppressions else [],
        no_aslr=policy.tsan and aslr_can_be_disabled(),
        # per-test outcomes matter when there are iterations to compare
        junit=settings.iterations > 1 and writes_junit(entry.test_framework),
    )
    return PreparedSuite(suite, test_command, interpreter, source, install_command, user_env)


def _test(
    prepared: PreparedSuite, settings: RunSettings, condition: Condition, state: _State
) -> _Finish:
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
        state.crash = hang_info(first, settings.run_dir)
    if verdict.outcome is not Outcome.CRASH or verdict.crash is None:
        return _Finish(verdict.outcome, verdict.reason)
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
    return _Finish(Outcome.CRASH, verdict.reason)


def _note(attempt: Attempt, problems: list[str]) -> None:
    """Lines about what could not be read (JUnit XML, TSan reports), in the last test log."""
    if not problems:
        return
    try:
        with attempt.step.log_path.open("a", encoding="utf-8") as log:
            log.writelines(f"apiary: {problem}\n" for problem in problems)
    except OSError:
        pass


def _seeded(
    interpreter: Interpreter, install: str, test: str, installer: Installer, uv: str | None
) -> bool:
    # Before 3.12 seeding also brings setuptools, which old suites import undeclared.
    old = tuple(int(part) for part in interpreter.minor.split(".")[:2]) < (3, 12)
    return old or needs_seeded_venv(install, test, installer, uv)


def _build_venv(
    runner: StepRunner,
    state: _State,
    venv: Venv,
    key: VenvKey,
    interpreter: Interpreter,
    uv: str | None,
    installer: Installer,
    settings: RunSettings,
    source: FetchedSource,
    base: dict[str, str],
    writable: list[Path],
    policy: SanitizerPolicy,
    framework: str,
) -> _Finish | None:
    cache = package_cache(settings.work_dir, key.package)
    env = env_for_install(base, cache, policy)
    argv = create_venv(venv, interpreter, uv, key.seeded)
    venv.path.mkdir()
    made = runner.run(
        Step.VENV,
        [CommandStep(tuple(argv))],
        cwd=venv.path,
        env=env,
        network=True,  # seeding pip may fetch it
        writable=[cache],
        readable=local_indexes(env),
        timeout_s=600,
        idle_timeout_s=None,
    )
    state.took(made)
    if not made.ok:
        last = (made.output().strip().splitlines() or ["no output"])[-1].strip()
        return _Finish(Outcome.ERROR, f"venv creation failed: {last}")

    install_command = key.install_command

    def install(chosen: Installer) -> StepOutcome:
        commands = plan_steps(install_command, venv.python, chosen, uv)
        if chosen == "pip" and not key.seeded:
            # uv failed in a venv made without pip: pip comes first, as seeding gives it.
            commands.insert(0, install_packages_step(["pip"], venv.python, "uv", uv))
        if settings.extra_deps:
            commands.append(install_packages_step(settings.extra_deps, venv.python, chosen, uv))
        commands.append(inventory_step(venv.path, chosen, framework))
        return runner.run(
            Step.INSTALL,
            commands,
            cwd=source.path,
            env=env,
            network=True,
            writable=[*writable, cache],
            readable=[*named_host_paths(install_command, settings.extra_deps), *local_indexes(env)],
            timeout_s=settings.timeout_s,
            idle_timeout_s=None,
        )

    done = install(installer)
    state.installer = installer
    state.took(done)
    if not done.ok and installer == "uv" and settings.installer == "auto":
        # uv refuses some pip options and resolves differently: pip gets a second chance.
        shutil.copyfile(done.log_path, done.log_path.with_name("install.uv.log"))
        done = install("pip")
        state.took(done)
        state.installer = "pip (uv failed)"
    if not done.ok:
        verdict = outcomes.classify_install(done.status, done.output())
        return _Finish(verdict.outcome, verdict.reason, verdict.install_failure)
    mark_ready(venv, key, read_inventory(venv.path))
    return None

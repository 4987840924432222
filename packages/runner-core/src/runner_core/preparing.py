"""Before a package's tests: its source, venv, install and import check (``prepare``),
and what those steps learnt for its ``package_finished`` event (``PackageState``)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from normalized_events import (
    Condition,
    CrashInfo,
    EventWriter,
    InstallFailure,
    Outcome,
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
    registry_repo_problem,
    safe_path_of,
    with_suffix,
)
from runner_core.environment import (
    HASH_SEED,
    base_env,
    env_for_import,
    env_for_install,
    local_indexes,
    package_cache,
    uv_cache,
    with_hash_seed,
)
from runner_core.errors import RunnerError, SourceError
from runner_core.evidence import install_agent
from runner_core.gil import GilMode, gil_enabled_by, gil_mode
from runner_core.import_check import import_check_argv
from runner_core.interpreter import Interpreter, probe_interpreter
from runner_core.inventory import inventory_step, read_inventory
from runner_core.iterations import Iterations
from runner_core.junit import writes_junit
from runner_core.limits import SourceLimits
from runner_core.planted import refuse_links
from runner_core.sanitizers import SanitizerPolicy, memory_policy
from runner_core.settings import RunSettings
from runner_core.sources import FetchedSource, SourceRequest, fetch_source
from runner_core.steps import StepOutcome, StepRunner
from runner_core.store import seed_package_cache
from runner_core.suite import SuiteRunner
from runner_core.timeouts import suite_limits, timeout_scale
from runner_core.tooling import find_uv
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


@dataclass
class Finish:
    """How a package ended before or without its tests: the outcome and why."""

    outcome: Outcome
    reason: str | None = None
    install_failure: InstallFailure | None = None


def condition_python(settings: RunSettings, condition: Condition) -> str:
    return condition.python or settings.target_python


@dataclass
class PackageState:
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
    hash_seed: str | None = None
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


def prepare(
    entry: PackageEntry,
    rev: str | None,
    condition: Condition,
    settings: RunSettings,
    writer: EventWriter,
    runner: StepRunner,
    state: PackageState,
) -> PreparedSuite | Finish:
    """Source, venv, install and import check: the suite ready to run, or why not."""
    interpreter = probe_interpreter(condition_python(settings, condition))
    runner.memory_limit, policy = memory_policy(
        interpreter.info, settings.memory_bytes, settings.leaks, settings.tsan_suppressions
    )
    source = _fetch(entry, rev, condition, settings, writer, runner, state)
    if isinstance(source, Finish):
        return source
    env = _environment(entry, settings, interpreter, source)
    if not env.venv.ready:
        finish = _build_venv(
            runner,
            state,
            env.venv,
            env.key,
            interpreter,
            env.uv,
            env.installer,
            settings,
            source,
            env.base,
            env.writable,
            policy,
            entry.test_framework,
        )
        if finish is not None:
            return finish
    finish = _import_check(entry, runner, state, env, source, policy)
    if finish is not None:
        return finish
    return _suite(entry, condition, settings, runner, state, interpreter, source, env, policy)


def _fetch(
    entry: PackageEntry,
    rev: str | None,
    condition: Condition,
    settings: RunSettings,
    writer: EventWriter,
    runner: StepRunner,
    state: PackageState,
) -> FetchedSource | Finish:
    """package_started, then the source step: the package's source, or why not."""
    name = entry.package
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
    fetched: list[FetchedSource] = []
    source_dir = settings.work.sources
    limits = SourceLimits.within(settings.timeout_s)
    from_registry = name not in settings.repo_overrides

    def fetch(log: Callable[[str], None]) -> None:
        problem = registry_repo_problem(repo) if repo and from_registry else None
        if problem is not None:
            raise SourceError(problem)
        fetched.append(fetch_source(request, source_dir, log, limits))

    try:
        outcome = runner.python_step(
            Step.SOURCE, f"fetch {request.kind} {request.repo or name}", fetch
        )
    except RunnerError as exc:
        return Finish(Outcome.SOURCE_ERROR, str(exc))
    state.took(outcome)
    source = fetched[0]
    state.version = source.version
    state.revision = source.revision
    state.source = source
    return source


@dataclass(frozen=True)
class _Environment:
    """Where the package's commands run: its venv (cached by key), home and installer."""

    uv: str | None
    installer: Installer
    install_command: str
    test_command: str
    key: VenvKey
    venv: Venv
    base: dict[str, str]
    writable: list[Path]


def _environment(
    entry: PackageEntry, settings: RunSettings, interpreter: Interpreter, source: FetchedSource
) -> _Environment:
    name = entry.package
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
    venv = lookup_venv(settings.work.package_venvs(name), key, settings.refresh)
    home = settings.work.home(name)
    home.mkdir(parents=True, exist_ok=True)
    # No step but the install sees the package's installer cache (see package_cache).
    writable = [source.path, venv.path, home]
    return _Environment(
        uv, installer, install_command, test_command, key, venv, base_env(venv.bin, home), writable
    )


def _import_check(
    entry: PackageEntry,
    runner: StepRunner,
    state: PackageState,
    env: _Environment,
    source: FetchedSource,
    policy: SanitizerPolicy,
) -> Finish | None:
    """The package's import in the venv (`runner_core.import_check`), JIT off; what the
    venv holds is recorded either way."""
    check = runner.run(
        Step.IMPORT_CHECK,
        [CommandStep(import_check_argv(str(env.venv.python), entry))],
        cwd=source.path,
        env=env_for_import(env.base, policy) | safe_path_of(env.test_command),
        network=False,
        writable=env.writable,
        timeout_s=300,
        idle_timeout_s=None,
    )
    state.took(check)
    state.saw_gil_warnings(check.output())
    recorded = recorded_distributions(env.venv)
    state.installed = recorded if recorded is not None else read_inventory(env.venv.path)
    if check.ok:
        return None
    verdict = outcomes.classify_import(check.status, check.output())
    state.crash = verdict.crash_info
    return Finish(verdict.outcome, verdict.reason)


def _suite(
    entry: PackageEntry,
    condition: Condition,
    settings: RunSettings,
    runner: StepRunner,
    state: PackageState,
    interpreter: Interpreter,
    source: FetchedSource,
    env: _Environment,
    policy: SanitizerPolicy,
) -> PreparedSuite:
    """The tests' runner, JIT on, with the crash evidence kept (its agent installed)."""
    install_agent(env.venv.path)
    user_env = with_hash_seed({**settings.env, **condition.env})
    state.hash_seed = user_env[HASH_SEED]
    state.gil = gil_mode(interpreter.info, user_env)
    scale = timeout_scale(interpreter.info, settings.timeout_scale)
    time_limits = suite_limits(entry.timeout, settings.timeout_s, settings.idle_timeout_s, scale)
    suite = SuiteRunner(
        runner=runner,
        python=env.venv.python,
        installer=env.installer,
        uv=env.uv,
        cwd=source.path,
        base_env=env.base,
        user_env=user_env,
        pytest_addopts=pytest_addopts(
            user_env.get("PYTEST_ADDOPTS"), entry.uses_xdist, env.test_command
        ),
        network=settings.network_during_tests,
        writable=env.writable,
        timeout_s=time_limits.timeout_s,
        idle_timeout_s=time_limits.idle_timeout_s,
        framework=entry.test_framework,
        on_step=state.took,
        policy=policy,
        readable=[policy.tsan_suppressions] if policy.tsan_suppressions else [],
        no_aslr=policy.tsan and aslr_can_be_disabled(),
        # per-test outcomes matter when there are iterations to compare
        junit=settings.iterations > 1 and writes_junit(entry.test_framework),
        keep_coverage=settings.keep_coverage,
    )
    return PreparedSuite(
        suite, env.test_command, interpreter, source, env.install_command, user_env
    )


def _seeded(
    interpreter: Interpreter, install: str, test: str, installer: Installer, uv: str | None
) -> bool:
    # Before 3.12 seeding also brings setuptools, which old suites import undeclared.
    old = tuple(int(part) for part in interpreter.minor.split(".")[:2]) < (3, 12)
    return old or needs_seeded_venv(install, test, installer, uv)


def _build_venv(
    runner: StepRunner,
    state: PackageState,
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
) -> Finish | None:
    cache = package_cache(settings.work_dir, key.package)
    env = env_for_install(base, cache, policy)
    if installer == "uv" and uv is not None:
        seed_package_cache(settings.work, interpreter, uv, uv_cache(cache))
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
        return Finish(Outcome.ERROR, f"venv creation failed: {last}")

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
            # The venv is inside the cache: one mount, so uv links instead of copying.
            writable=[*(p for p in writable if not p.is_relative_to(cache)), cache],
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
        return Finish(verdict.outcome, verdict.reason, verdict.install_failure)
    # The install could write where the venv lives: the venv itself could now be a link.
    refuse_links(runner.trusted, venv.path, "venv")
    mark_ready(venv, key, read_inventory(venv.path))
    return None

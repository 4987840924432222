"""`apiary run`: the command-line layer over runner_core.run."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from normalized_events import Condition, EventLogError, Outcome
from normalized_events.exits import ExitCode
from platformdirs import user_cache_path
from registry_core import RegistryError, load_registry
from registry_core.locate import locate_registry
from registry_core.select import read_packages_file
from sandbox_runner import SandboxError
from sandbox_runner.spec import DEFAULT_PROCESSES, DEFAULT_TMP_BYTES

from runner_core.conditions import parse_condition
from runner_core.errors import OptionError, ResumeError, RunnerError, full_disk
from runner_core.gil import describe_mode, gil_mode
from runner_core.interpreter import probe_interpreter
from runner_core.isolation import check_sandbox
from runner_core.pipeline import condition_python
from runner_core.progress import RunProgress, print_final_table
from runner_core.run import (
    RunPlan,
    check_run_id,
    execute,
    load_run_json,
    new_run_id,
    recorded_selection,
    registry_info,
)
from runner_core.sanitizers import check_tsan_hunt, sanitizer_env
from runner_core.selection import SelectionOptions, select
from runner_core.settings import BackendChoice, InstallerChoice, RunSettings, SourceChoice
from runner_core.shards import apply_shard, shard_from_environment

Opt = typer.Option


def _pairs(values: list[str], option: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise OptionError(f"{option}: {value!r} is not KEY=VALUE")
        found[key] = rest
    return found


def _size(text: str | None, option: str = "--memory") -> int | None:
    if text is None or text.strip().lower() == "off":
        return None
    from sandbox_runner import parse_size

    return parse_size(text, what=option)


def run_command(
    registry_dir: Annotated[
        Path | None,
        Opt(help="Registry folder (else APIARY_REGISTRY, the checkout's registry/, else bundled)."),
    ] = None,
    packages: Annotated[
        list[str], Opt("--packages", "-p", help="Packages to run: a,b@rev (repeatable).")
    ] = [],  # noqa: B006
    packages_from: Annotated[
        Path | None, Opt(help="File of package names (NAME or NAME@REV per line).")
    ] = None,
    top: Annotated[int | None, Opt(min=1, help="The N most downloaded runnable packages.")] = None,
    where: Annotated[
        list[str], Opt(help="FIELD=VALUE or FIELD!=VALUE (repeatable; all must hold).")
    ] = [],  # noqa: B006
    skip_extensions: Annotated[bool, Opt(help="Skip every package with compiled code.")] = False,
    include_unenriched: Annotated[
        bool, Opt(help="Also run unenriched skeletons with default commands.")
    ] = False,
    force_run: Annotated[bool, Opt(help="Run packages the registry marks skip.")] = False,
    target_python: Annotated[
        str, Opt(help="Interpreter to test (path or command name).")
    ] = sys.executable,
    condition: Annotated[
        list[str], Opt(help="NAME:python=PATH,env.K=V (repeatable): test under each.")
    ] = [],  # noqa: B006
    workers: Annotated[int, Opt(min=1, help="Packages run in parallel (processes).")] = 1,
    timeout: Annotated[
        float, Opt(help="Seconds per test command, unless the registry says otherwise.")
    ] = 1800.0,
    idle_timeout: Annotated[
        float, Opt(help="Seconds without output before a test run counts as a hang (0: off).")
    ] = 600.0,
    memory: Annotated[str | None, Opt(help="Memory limit per command, e.g. 2G.")] = None,
    processes: Annotated[
        int, Opt(min=0, help="Processes alive at once per command (0: no limit).")
    ] = DEFAULT_PROCESSES,
    tmp_size: Annotated[
        str, Opt(help="Size of each command's private /tmp and of its /dev/shm, e.g. 1G.")
    ] = "1G",
    disk_limit: Annotated[
        str, Opt(help="How much a command may fill the disk of its writable paths (or off).")
    ] = "20G",
    pass_env: Annotated[
        list[str], Opt(help="Host variable (glob) passed to commands besides the allowlist.")
    ] = [],  # noqa: B006
    env: Annotated[
        list[str], Opt(help="K=V set for the tests (repeatable); overrides PYTHON_JIT=1.")
    ] = [],  # noqa: B006
    extra_deps: Annotated[
        str | None, Opt(help="Extra requirements installed in every venv (comma separated).")
    ] = None,
    test_command_override: Annotated[
        str | None, Opt(help="Test command used instead of the registry's.")
    ] = None,
    test_command_suffix: Annotated[str | None, Opt(help="Appended to every test command.")] = None,
    repo_override: Annotated[list[str], Opt(help="PKG=URL or PKG=/local/path (repeatable).")] = [],  # noqa: B006
    stop_after_crash: Annotated[
        int | None, Opt(min=1, help="Stop handing out packages after N crashes.")
    ] = None,
    installer: Annotated[str, Opt(help="auto (uv, pip as fallback), uv or pip.")] = "auto",
    source: Annotated[str, Opt(help="auto (git, then sdist), git or sdist.")] = "auto",
    sandbox: Annotated[
        str, Opt(help="auto (bwrap, else NO isolation, said loudly), require, bwrap or none.")
    ] = "auto",
    network_during_tests: Annotated[str, Opt(help="on or off.")] = "off",
    crash_reruns: Annotated[
        int, Opt(min=0, help="Reruns of a crashing test suite to check it reproduces.")
    ] = 1,
    iterations: Annotated[
        int,
        Opt(
            help="Runs of each test suite, stopping at the first crash or hang; tests that "
            "pass in some and fail in others are reported flaky."
        ),
    ] = 1,
    tsan: Annotated[
        bool, Opt(help="A ThreadSanitizer hunt: refused unless the interpreter is a TSan build.")
    ] = False,
    tsan_suppressions: Annotated[
        Path | None, Opt(help="TSan suppressions file (implies --tsan).")
    ] = None,
    all_iterations: Annotated[
        bool, Opt(help="With --iterations: run every iteration, even after a crash.")
    ] = False,
    retries: Annotated[
        int, Opt(min=0, help="Retries of a package whose outcome differs between conditions.")
    ] = 2,
    leaks: Annotated[
        bool,
        Opt(help="On a sanitizer build, keep LeakSanitizer on: leak reports become crashes."),
    ] = False,
    shard: Annotated[str | None, Opt(help="I/N: run the I-th of N shards (1-based).")] = None,
    balance_from: Annotated[
        Path | None, Opt(help="Run dir whose durations balance the shards.")
    ] = None,
    results_dir: Annotated[Path, Opt(help="Where run directories go.")] = Path("apiary-results"),
    work_dir: Annotated[
        Path | None, Opt(help="Sources and venvs cache (default: user cache dir).")
    ] = None,
    run_id: Annotated[str | None, Opt(help="Name of the run (default: UTC timestamp).")] = None,
    resume: Annotated[str | None, Opt(help="Continue the interrupted run RUN_ID.")] = None,
    refresh: Annotated[bool, Opt(help="Rebuild venvs even when their key matches.")] = False,
    dry_run: Annotated[bool, Opt(help="Print the plan and touch nothing.")] = False,
) -> None:
    """Run the test suites of registry packages against an interpreter and record what happened."""
    try:
        recorded: dict[str, object] | None = None
        if resume:
            settings, recorded = _resumed(results_dir, resume)
        else:
            names = list(packages)
            if packages_from is not None:
                names.extend(read_packages_file(packages_from))
            idle = idle_timeout if idle_timeout > 0 else None
            settings = RunSettings(
                run_id=check_run_id(run_id) if run_id else new_run_id(),
                results_dir=results_dir.absolute(),
                work_dir=(work_dir or user_cache_path("apiary") / "work").absolute(),
                registry_dir=locate_registry(registry_dir),
                target_python=str(probe_interpreter(target_python).path),
                conditions=[parse_condition(c) for c in condition] or [Condition()],
                workers=workers,
                timeout_s=timeout,
                idle_timeout_s=idle,
                memory_bytes=_size(memory),
                processes=processes or None,
                tmp_bytes=_size(tmp_size, "--tmp-size") or DEFAULT_TMP_BYTES,
                disk_bytes=_size(disk_limit, "--disk-limit"),
                pass_env=list(pass_env),
                installer=_choice(installer, INSTALLERS, "--installer"),
                source=_choice(source, SOURCES, "--source"),
                sandbox_backend=_choice(sandbox, BACKENDS, "--sandbox"),
                network_during_tests=_choice(
                    network_during_tests, ("on", "off"), "--network-during-tests"
                )
                == "on",
                env=_pairs(env, "--env"),
                extra_deps=[d.strip() for d in (extra_deps or "").split(",") if d.strip()],
                test_command_override=test_command_override,
                test_command_suffix=test_command_suffix,
                repo_overrides=_pairs(repo_override, "--repo-override"),
                refresh=refresh,
                crash_reruns=crash_reruns,
                iterations=_at_least_one(iterations, "--iterations"),
                all_iterations=all_iterations,
                tsan=tsan or tsan_suppressions is not None,
                tsan_suppressions=tsan_suppressions.absolute() if tsan_suppressions else None,
                leaks=leaks,
                condition_retries=retries,
                stop_after_crash=stop_after_crash,
                shard=shard or shard_from_environment(),
            )
            options = SelectionOptions(
                packages=tuple(names),
                top=top,
                where=tuple(where),
                skip_extensions=skip_extensions,
                include_unenriched=include_unenriched,
                force_run=force_run,
            )
        registry = load_registry(settings.registry_dir)
        for problem in registry.problems:
            typer.echo(f"warning: {problem}", err=True)
        interpreter = probe_interpreter(settings.target_python)
        for unusable in sanitizer_env([settings.env, os.environ]).problems:
            typer.echo(f"warning: {unusable}", err=True)
        if settings.tsan:
            for python in _condition_pythons(settings):
                check_tsan_hunt(probe_interpreter(python).info, settings.tsan_suppressions)
        for line in gil_lines(settings):
            typer.echo(line, err=True)
        if recorded is not None:
            # A resumed run keeps the selection it began with, shard and skips included.
            selection = recorded_selection(recorded, registry)
        else:
            selection = select(registry, options, interpreter.minor)
            if settings.shard:
                selection = apply_shard(selection, settings.shard, balance_from)
        plan = RunPlan(settings, selection, registry_info(settings.registry_dir, registry))
        if dry_run:
            _print_plan(plan)
            return
        sandbox_warning = check_sandbox(settings.sandbox_backend).warning
        if sandbox_warning is not None:
            typer.secho(sandbox_warning, err=True, fg="red", bold=True)
        total = (len(selection.run) + len(selection.skipped) + len(selection.invalid)) * len(
            settings.conditions
        )
        with RunProgress(total=total) as progress:
            report = execute(plan, on_result=progress, resumed=bool(resume))
    except (RunnerError, RegistryError, SandboxError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(ExitCode.USER_ERROR) from None
    except (OSError, EventLogError) as exc:
        stop = full_disk(exc, results_dir)
        if stop is None:
            raise
        typer.echo(f"error: {stop}", err=True)
        raise typer.Exit(ExitCode.USER_ERROR) from None
    _print_summary(report.run_dir, report.counts, report.wall_s, report.interrupted)
    if report.stopped_by is not None:
        typer.echo(f"error: {report.stopped_by}", err=True)
    if report.interrupted:
        typer.echo(
            f"interrupted: resume with  apiary run --resume {settings.run_id}"
            f" --results-dir {results_dir}",
            err=True,
        )
        raise typer.Exit(ExitCode.INTERRUPTED)


def _at_least_one(value: int, option: str) -> int:
    if value < 1:
        raise OptionError(f"{option} {value}: must be 1 or more")
    return value


def _condition_pythons(settings: RunSettings) -> list[str]:
    return list(dict.fromkeys(condition_python(settings, c) for c in settings.conditions))


def gil_lines(settings: RunSettings) -> list[str]:
    """What each condition does with the GIL, when its interpreter is free-threaded."""
    lines = []
    for condition in settings.conditions:
        interpreter = probe_interpreter(condition_python(settings, condition))
        mode = gil_mode(interpreter.info, {**settings.env, **condition.env})
        if mode is not None:
            where = "" if condition.name == "default" else f" (condition {condition.name})"
            lines.append(f"free-threaded interpreter{where}: tests run with {describe_mode(mode)}")
    return lines


_T = TypeVar("_T", bound=str)
INSTALLERS: tuple[InstallerChoice, ...] = ("auto", "uv", "pip")
SOURCES: tuple[SourceChoice, ...] = ("auto", "git", "sdist")
BACKENDS: tuple[BackendChoice, ...] = ("auto", "require", "bwrap", "none")


def _choice(value: str, allowed: tuple[_T, ...], option: str) -> _T:
    for candidate in allowed:
        if value == candidate:
            return candidate
    raise OptionError(f"{option}: {value!r} is not one of {', '.join(allowed)}")


def _resumed(results_dir: Path, run_id: str) -> tuple[RunSettings, dict[str, object]]:
    data = load_run_json(results_dir.absolute(), run_id)
    try:
        settings = RunSettings.model_validate(data["settings"])
    except (KeyError, ValueError, RecursionError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ResumeError(f"--resume {run_id}: run.json has no usable settings ({first})") from None
    # A run directory may come from another machine: it is resumed where it is found.
    update = {"results_dir": results_dir.absolute(), "run_id": run_id}
    return settings.model_copy(update=update), data


def _print_plan(plan: RunPlan) -> None:
    s = plan.settings
    typer.echo(
        f"run {s.run_id}: {len(plan.selection.run)} packages x {len(s.conditions)} condition(s)"
    )
    typer.echo(f"  interpreter: {s.target_python}")
    typer.echo(f"  registry:    {s.registry_dir}")
    typer.echo(f"  results:     {s.run_dir}")
    for item in plan.selection.run:
        rev = f"@{item.rev}" if item.rev else ""
        typer.echo(f"  run   {item.entry.package}{rev}")
    for skipped in plan.selection.skipped:
        typer.echo(f"  skip  {skipped.package}: {skipped.reason}")
    for invalid in plan.selection.invalid:
        typer.echo(f"  error {invalid.package}: {invalid.reason}")


def _print_summary(
    run_dir: Path, counts: dict[Outcome, int], wall_s: float, interrupted: bool
) -> None:
    print_final_table(counts, wall_s, interrupted)
    typer.echo(f"results: {run_dir}")
    typer.echo(f"report:  apiary report summary {run_dir}")

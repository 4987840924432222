"""`apiary run`: options parsed into a `RunRequest`; `runner_core.planning.plan_run` and
`runner_core.run.execute` do the rest."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from normalized_events import Condition, EventLogError, Outcome
from normalized_events.exits import ExitCode
from registry_core import RegistryError
from registry_core.locate import locate_registry
from registry_core.select import read_packages_file
from sandbox_runner import SandboxError
from sandbox_runner.spec import DEFAULT_PROCESSES, DEFAULT_TMP_BYTES

from runner_core.conditions import parse_condition
from runner_core.errors import OptionError, RunnerError, full_disk
from runner_core.interpreter import probe_interpreter
from runner_core.isolation import check_sandbox
from runner_core.planning import RunRequest, plan_run
from runner_core.progress import RunProgress, print_final_table
from runner_core.run import RunPlan, RunReport, check_run_id, execute, new_run_id
from runner_core.selection import SelectionOptions
from runner_core.settings import (
    BACKENDS,
    INSTALLERS,
    NETWORK,
    ORDERS,
    SOURCES,
    RunSettings,
    parse_choice,
)
from runner_core.shards import shard_from_environment
from runner_core.workdir import work_dir_or_default

Opt = typer.Option


def _pairs(values: list[str], option: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise OptionError(f"{option}: {value!r} is not KEY=VALUE")
        found[key] = rest
    return found


def _sample_seed(sample: int | None, seed: int | None) -> int:
    """--seed, or a new seed printed so that the same draw can be made again."""
    if seed is not None or sample is None:
        return seed or 0
    import secrets

    drawn = secrets.randbelow(1 << 31)
    typer.echo(f"--sample {sample}: seed {drawn} (--seed {drawn} draws the same)", err=True)
    return drawn


def _size(text: str | None, option: str = "--memory") -> int | None:
    from sandbox_runner import parse_limit

    return parse_limit(text, what=option)


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
    sample: Annotated[
        int | None, Opt(min=1, help="Draw N of the selected runnable packages at random.")
    ] = None,
    seed: Annotated[
        int | None, Opt(min=0, help="Seed of --sample's draw (default: a new one, printed).")
    ] = None,
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
    order: Annotated[
        str,
        Opt(
            help="longest-first (with several workers: by the durations of --balance-from,"
            " else of the newest run in --results-dir) or selection (as selected).",
        ),
    ] = "longest-first",
    timeout: Annotated[
        float, Opt(help="Seconds per test command, unless the registry says otherwise.")
    ] = 1800.0,
    timeout_scale: Annotated[
        float | None,
        Opt(
            min=0.01,
            help="Multiply the tests' time limits (default: 4 on a debug build, 3 on an"
            " AddressSanitizer build, else 1).",
            show_default=False,
        ),
    ] = None,
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
    keep_coverage: Annotated[
        bool,
        Opt(
            help="Let suites measure coverage with pytest-cov. Off by default: its trace "
            "function keeps the JIT from compiling, and its plugins fail on free-threaded builds.",
        ),
    ] = False,
    crash_reruns: Annotated[
        int,
        Opt(
            min=0,
            help="Reruns of a crashing test suite to check it reproduces, when the "
            "crashing test alone did not.",
        ),
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
        Path | None, Opt(help="Run dir whose durations balance the shards and order the run.")
    ] = None,
    results_dir: Annotated[Path, Opt(help="Where run directories go.")] = Path("apiary-results"),
    work_dir: Annotated[
        Path | None, Opt(help="Sources and venvs cache (default: user cache dir).")
    ] = None,
    work_budget: Annotated[
        str,
        Opt(help="Keep the work dir under this size (or off), evicting what ran longest ago."),
    ] = "30G",
    keep_free: Annotated[
        str,
        Opt(help="Evict what ran longest ago while the work dir's disk has less free (or off)."),
    ] = "5G",
    run_id: Annotated[str | None, Opt(help="Name of the run (default: UTC timestamp).")] = None,
    resume: Annotated[str | None, Opt(help="Continue the interrupted run RUN_ID.")] = None,
    refresh: Annotated[bool, Opt(help="Rebuild venvs even when their key matches.")] = False,
    dry_run: Annotated[bool, Opt(help="Print the plan and touch nothing.")] = False,
) -> None:
    """Run the test suites of registry packages against an interpreter and record what happened."""
    try:
        if resume:
            request = RunRequest(resume=resume, results_dir=results_dir)
        else:
            idle = idle_timeout if idle_timeout > 0 else None
            settings = RunSettings(
                run_id=check_run_id(run_id) if run_id else new_run_id(),
                results_dir=results_dir.absolute(),
                work_dir=work_dir_or_default(work_dir),
                registry_dir=locate_registry(registry_dir),
                target_python=str(probe_interpreter(target_python).path),
                conditions=[parse_condition(c) for c in condition] or [Condition()],
                workers=workers,
                order=parse_choice(order, ORDERS, "--order"),
                timeout_s=timeout,
                idle_timeout_s=idle,
                timeout_scale=timeout_scale,
                memory_bytes=_size(memory),
                processes=processes or None,
                tmp_bytes=_size(tmp_size, "--tmp-size") or DEFAULT_TMP_BYTES,
                disk_bytes=_size(disk_limit, "--disk-limit"),
                work_budget_bytes=_size(work_budget, "--work-budget"),
                keep_free_bytes=_size(keep_free, "--keep-free") or 0,
                pass_env=list(pass_env),
                installer=parse_choice(installer, INSTALLERS, "--installer"),
                source=parse_choice(source, SOURCES, "--source"),
                sandbox_backend=parse_choice(sandbox, BACKENDS, "--sandbox"),
                network_during_tests=parse_choice(
                    network_during_tests, NETWORK, "--network-during-tests"
                )
                == "on",
                keep_coverage=keep_coverage,
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
            names = [*packages, *(read_packages_file(packages_from) if packages_from else [])]
            options = SelectionOptions(
                packages=tuple(names),
                top=top,
                sample=sample,
                seed=_sample_seed(sample, seed),
                where=tuple(where),
                skip_extensions=skip_extensions,
                include_unenriched=include_unenriched,
                force_run=force_run,
            )
            request = RunRequest(settings, options, balance_from, results_dir=results_dir)
        plan = plan_run(request, warn=lambda line: typer.echo(line, err=True))
        if dry_run:
            _print_plan(plan)
            return
        report = _execute_with_progress(plan, resumed=bool(resume))
    except (RunnerError, RegistryError, SandboxError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(ExitCode.USER_ERROR) from None
    except (OSError, EventLogError) as exc:
        stop = full_disk(exc, results_dir)
        if stop is None:
            raise
        typer.echo(f"error: {stop}", err=True)
        raise typer.Exit(ExitCode.USER_ERROR) from None
    _finish(report, plan.settings.run_id, results_dir)


def _execute_with_progress(plan: RunPlan, resumed: bool) -> RunReport:
    sandbox_warning = check_sandbox(plan.settings.sandbox_backend).warning
    if sandbox_warning is not None:
        typer.secho(sandbox_warning, err=True, fg="red", bold=True)
    selection = plan.selection
    total = (len(selection.run) + len(selection.skipped) + len(selection.invalid)) * len(
        plan.settings.conditions
    )
    with RunProgress(total=total) as progress:
        return execute(plan, on_result=progress, resumed=resumed)


def _finish(report: RunReport, run_id: str, results_dir: Path) -> None:
    _print_summary(report.run_dir, report.counts, report.wall_s, report.interrupted)
    if report.stopped_by is not None:
        typer.echo(f"error: {report.stopped_by}", err=True)
    if report.interrupted:
        typer.echo(
            f"interrupted: resume with  apiary run --resume {run_id} --results-dir {results_dir}",
            err=True,
        )
        raise typer.Exit(ExitCode.INTERRUPTED)


def _at_least_one(value: int, option: str) -> int:
    if value < 1:
        raise OptionError(f"{option} {value}: must be 1 or more")
    return value


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

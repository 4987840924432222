"""`apiary bisect`: the command-line layer over runner_core.bisect."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from normalized_events import BisectStep, EventLogError
from normalized_events.exits import ExitCode
from registry_core import PackageEntry, RegistryError, load_registry
from registry_core.locate import locate_registry
from reporter.model.bisection import load_bisection, render_json, render_text
from sandbox_runner import SandboxError

from runner_core.bisect import run_bisect
from runner_core.bisect.plans import BisectRequest, make_plan, read_crash
from runner_core.errors import RunnerError
from runner_core.interpreter import probe_interpreter
from runner_core.isolation import check_sandbox
from runner_core.settings import BACKENDS, INSTALLERS, RunSettings, parse_choice
from runner_core.workdir import work_dir_or_default

Opt = typer.Option
REPORT = "bisect.json"


def bisect_command(
    good: Annotated[str, Opt(help="A commit that does not crash (older).")],
    bad: Annotated[str, Opt(help="A commit that crashes (newer).")],
    package: Annotated[
        str | None, typer.Argument(help="The registry package whose crash is bisected.")
    ] = None,
    package_option: Annotated[
        str | None, Opt("--package", help="The package, when bisecting CPython.")
    ] = None,
    cpython: Annotated[
        Path | None, Opt(help="A CPython git checkout: bisect its commits, not the package's.")
    ] = None,
    variant: Annotated[
        str, Opt(help="With --cpython: the build variant (jit, plain, ...).")
    ] = "jit",
    llvm: Annotated[
        int | None, Opt(help="With --cpython: build the JIT's stencils with this LLVM.")
    ] = None,
    package_rev: Annotated[
        str | None, Opt(help="With --cpython: the package's revision (default: its HEAD).")
    ] = None,
    target_python: Annotated[
        str, Opt(help="The interpreter, when bisecting the package.")
    ] = sys.executable,
    tries: Annotated[int, Opt(min=1, help="Runs of a step before it counts as good.")] = 3,
    bucket: Annotated[
        str | None, Opt(help="The crash bucket a bad step must show (default: --bad's crash).")
    ] = None,
    crash: Annotated[
        Path | None, Opt(help="A crash.json of `apiary run`: its bucket and narrowed test.")
    ] = None,
    test_command: Annotated[
        str | None, Opt(help="The reproducer (default: the crash's one test, else the suite).")
    ] = None,
    repo: Annotated[str | None, Opt(help="The package's git repository (URL or path).")] = None,
    registry_dir: Annotated[Path | None, Opt(help="Registry folder.")] = None,
    timeout: Annotated[float, Opt(help="Seconds per run of the reproducer.")] = 1800.0,
    installer: Annotated[str, Opt(help="auto (uv, pip as fallback), uv or pip.")] = "auto",
    sandbox: Annotated[str, Opt(help="auto, require, bwrap or none.")] = "auto",
    results_dir: Annotated[Path, Opt(help="Where bisection folders go.")] = Path("apiary-results"),
    output: Annotated[
        Path | None, Opt(help="The bisection folder (default: named after package and commits).")
    ] = None,
    work_dir: Annotated[Path | None, Opt(help="Sources and venvs cache.")] = None,
) -> None:
    """Find the first commit that crashes the same way, in the package or (--cpython) in CPython."""
    try:
        settings, entry = _settings(
            package or package_option,
            target_python,
            cpython,
            repo,
            (timeout, installer, sandbox),
            results_dir,
            work_dir,
            registry_dir,
        )
        found = read_crash(crash) if crash is not None else None
        request = BisectRequest(
            good=good,
            bad=bad,
            tries=tries,
            bucket=bucket or (found.bucket if found else None),
            command=test_command or (found.command if found else None),
            cpython=cpython,
            variant=variant,
            llvm=llvm,
            package_rev=package_rev,
            output=output,
        )
        plan, tester = make_plan(request, entry, settings, report=_print_phase)
        warning = check_sandbox(settings.sandbox_backend).warning
        if warning is not None:
            typer.secho(warning, err=True, fg="red", bold=True)
        typer.echo(
            f"bisecting {len(plan.commits)} commits of {plan.started.repository} "
            f"into {plan.folder}",
            err=True,
        )
        run_bisect(plan, tester, on_step=_progress)
    except (RunnerError, RegistryError, SandboxError, EventLogError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(ExitCode.USER_ERROR) from None
    except KeyboardInterrupt:
        typer.echo("interrupted: run the same command again to resume", err=True)
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    report = load_bisection(plan.folder)
    (plan.folder / REPORT).write_text(render_json(report), encoding="utf-8")
    typer.echo(render_text(report), nl=False)
    typer.echo(f"report: {plan.folder / REPORT}", err=True)


def _settings(
    package: str | None,
    target_python: str,
    cpython: Path | None,
    repo: str | None,
    running: tuple[float, str, str],
    results_dir: Path,
    work_dir: Path | None,
    registry_dir: Path | None,
) -> tuple[RunSettings, PackageEntry]:
    """The settings each step runs the package with, and its registry entry."""
    timeout, installer, sandbox = running
    if not package:
        raise RunnerError("name the package: apiary bisect PACKAGE (or --package PACKAGE)")
    registry = load_registry(locate_registry(registry_dir))
    entry = registry.entries.get(package)
    if entry is None:
        raise RunnerError(f"{package}: not in the registry {registry.root}")
    python = sys.executable if cpython is not None else str(probe_interpreter(target_python).path)
    settings = RunSettings(
        run_id="bisect",
        results_dir=results_dir.absolute(),
        work_dir=work_dir_or_default(work_dir),
        registry_dir=registry.root,
        target_python=python,
        timeout_s=timeout,
        installer=parse_choice(installer, INSTALLERS, "--installer"),
        source="git",
        sandbox_backend=parse_choice(sandbox, BACKENDS, "--sandbox"),
        repo_overrides={package: repo} if repo else {},
        crash_reruns=0,
    )
    return settings, entry


def _progress(step: BisectStep, left: int) -> None:
    build = f" build {step.build_s:.0f}s" if step.build_s is not None else ""
    ahead = f" ~{left} step(s) left" if left else ""
    typer.echo(
        f"[bisect] {step.commit[:12]} {step.verdict:<4} tries {step.tries} "
        f"{step.duration_s:.1f}s{build}  {step.subject[:60]}  ({step.reason[:80]}){ahead}",
        err=True,
    )


def _print_phase(phase: str, detail: str) -> None:
    if phase not in ("compile",):
        typer.echo(f"[build {phase}] {detail[-100:]}", err=True)

"""`apiary python`: build, list and remove the CPython builds that are hunted."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from normalized_events.exits import ExitCode

from runner_core.pythons import (
    VARIANTS,
    BuildError,
    BuiltPython,
    build_cpython,
    list_built,
    remove_built,
)
from runner_core.workdir import disk_bytes

app = typer.Typer(
    name="python",
    help="Build, list and remove the CPython builds to hunt on (JIT, debug, sanitizers, ft).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def _plain() -> bool:
    return bool(os.environ.get("CI")) or not sys.stderr.isatty()


@app.command("build")
def build_command(
    source: Annotated[
        Path, typer.Argument(help="A CPython source folder, a source tarball or a git checkout.")
    ],
    variant: Annotated[
        str, typer.Option(help=f"Variants joined with +: {', '.join(VARIANTS)} (jit+debug).")
    ] = "jit",
    rev: Annotated[
        str | None, typer.Option(help="The commit to build, for a git checkout.")
    ] = None,
    llvm: Annotated[
        int | None,
        typer.Option(help="Build the JIT's stencils with this LLVM when the pinned one is absent."),
    ] = None,
) -> None:
    """Build SOURCE as VARIANT into the user cache (instant when already built)."""
    try:
        if _plain():
            built = build_cpython(source, variant, rev=rev, llvm=llvm, report=_print_phase)
        else:
            built = _with_progress(source, variant, rev, llvm)
    except BuildError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(ExitCode.USER_ERROR) from None
    except KeyboardInterrupt:
        typer.echo("interrupted: nothing was kept of this build", err=True)
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    for warning in built.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"{built.name}  {built.python}")
    typer.echo(f"use it with: apiary run --target-python {built.name}")


def _print_phase(phase: str, detail: str) -> None:
    if phase != "compile":  # one line per phase, not per object file
        typer.echo(f"[{phase}] {detail}", err=True)


def _with_progress(source: Path, variant: str, rev: str | None, llvm: int | None) -> BuiltPython:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.fields[phase]:<9}"),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        transient=False,
    ) as progress:
        task = progress.add_task("", phase="source")

        def report(phase: str, detail: str) -> None:
            if phase in ("llvm", "cached"):
                progress.console.print(f"{phase}: {detail}")
            progress.update(task, phase=phase, description=detail[-70:])

        return build_cpython(source, variant, rev=rev, llvm=llvm, report=report)


@app.command("list")
def list_command() -> None:
    """The builds in the user cache: name, version, variant, path, size, source."""
    builds = list_built()
    if not builds:
        typer.echo("no builds yet: apiary python build SOURCE --variant jit")
        return
    for build in builds:
        source = build.source
        where = f"{source.get('kind', '?')} {source.get('location', '?')}"
        if source.get("rev"):
            where += f" @ {str(source['rev'])[:12]}"
        size = disk_bytes([build.prefix]) / 1024**2
        typer.echo(
            f"{build.name:<28} {build.version:<10} {build.variant:<12} {size:7.0f} MB  "
            f"{build.python}  ({where})"
        )


@app.command("remove")
def remove_command(
    name: Annotated[str, typer.Argument(help="A build's name (all builds of it) or full name.")],
) -> None:
    """Remove a build from the user cache."""
    try:
        removed = remove_built(name)
    except BuildError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(ExitCode.USER_ERROR) from None
    for build in removed:
        typer.echo(f"removed {build.full_name} ({build.prefix})")

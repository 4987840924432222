"""`apiary work`: what the work directory holds per package, and pruning it."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Annotated

import typer
from normalized_events.exits import ExitCode

from runner_core.workdir import (
    DEFAULT_BUDGET_BYTES,
    DEFAULT_KEEP_FREE_BYTES,
    Eviction,
    WorkBudget,
    WorkLayout,
    enforce_budget,
    evict,
    footprints,
    work_dir_or_default,
)

app = typer.Typer(
    name="work",
    help="Show and prune the work directory: each package's venvs, caches and sources.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

WorkDir = Annotated[Path | None, typer.Option(help="The work directory (default: user cache).")]


def _mib(size: int) -> str:
    return f"{size / 1024**2:,.0f} MiB"


def _size(text: str, option: str) -> int | None:
    from sandbox_runner import SandboxError, parse_limit

    try:
        return parse_limit(text, what=option)
    except SandboxError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(ExitCode.USER_ERROR) from None


@app.command("list")
def list_command(work_dir: WorkDir = None) -> None:
    """Each package's folders in the work directory: size and last use, newest first."""
    layout = WorkLayout(work_dir_or_default(work_dir))
    found = footprints(layout) if layout.root.is_dir() else []
    for footprint in reversed(found):
        used = time.strftime("%Y-%m-%d %H:%M", time.localtime(footprint.last_used))
        typer.echo(f"{footprint.package:<40} {_mib(footprint.bytes):>12}  {used}")
    total = sum(f.bytes for f in found)
    free = shutil.disk_usage(layout.root).free if layout.root.is_dir() else 0
    typer.echo(f"{len(found)} package(s), {_mib(total)} in {layout.root}; {_mib(free)} free")


@app.command("prune")
def prune_command(
    package: Annotated[
        list[str] | None, typer.Argument(help="Remove these packages' folders (else: by budget).")
    ] = None,
    work_budget: Annotated[
        str, typer.Option(help="Keep the work dir under this size (or off).")
    ] = f"{DEFAULT_BUDGET_BYTES // 1024**3}G",
    keep_free: Annotated[
        str, typer.Option(help="Keep at least this much free on its disk (or off).")
    ] = f"{DEFAULT_KEEP_FREE_BYTES // 1024**3}G",
    work_dir: WorkDir = None,
) -> None:
    """Remove the folders of what ran longest ago until the budget holds, or of the
    packages named; a package that is running is never removed."""
    layout = WorkLayout(work_dir_or_default(work_dir))
    if not layout.root.is_dir():
        typer.echo(f"nothing to prune: {layout.root} does not exist")
        return
    if package:
        evicted, missing = _named(layout, package)
    else:
        budget = WorkBudget(
            _size(work_budget, "--work-budget"), _size(keep_free, "--keep-free") or 0
        )
        evicted, missing = enforce_budget(layout, budget), []
    for eviction in evicted:
        typer.echo(f"removed {eviction.package}: {_mib(eviction.bytes)} ({eviction.why})")
    typer.echo(f"{len(evicted)} package(s), {_mib(sum(e.bytes for e in evicted))} removed")
    if missing:
        raise typer.Exit(ExitCode.USER_ERROR)


def _named(layout: WorkLayout, names: list[str]) -> tuple[list[Eviction], list[str]]:
    """Evict the packages named; (what was removed, the names with nothing here)."""
    known = {f.package: f for f in footprints(layout)}
    evicted, missing = [], []
    for name in names:
        footprint = known.get(name)
        if footprint is None:
            typer.echo(f"error: {name}: nothing of it in {layout.root}", err=True)
            missing.append(name)
        elif evict(layout, name):
            evicted.append(Eviction(name, footprint.bytes, "asked for"))
        else:
            typer.echo(f"{name}: running now, left in place", err=True)
    return evicted, missing

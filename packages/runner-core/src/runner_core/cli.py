"""The `apiary` command line: a thin typer layer over the library."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from runner_core.lazycli import LazyCommand, LazyGroup

# The help of each subcommand is stated here so that `apiary --help` imports none of them;
# a test checks it against the help each one declares.
SUBCOMMANDS = {
    "run": LazyCommand(
        "runner_core.cli_run",
        "run_command",
        "Run the test suites of registry packages against an interpreter and record what happened.",
    ),
    "bisect": LazyCommand(
        "runner_core.cli_bisect",
        "bisect_command",
        "Find the first commit that crashes the same way, in the package or (--cpython)"
        " in CPython.",
    ),
    "sandbox": LazyCommand(
        "sandbox_runner.cli",
        "sandbox_command",
        "Run one command in the sandbox, exactly as apiary runs a package's command.",
        context_settings_attr="SANDBOX_CONTEXT",
    ),
    "doctor": LazyCommand(
        "runner_core.cli",
        "doctor_command",
        "Show what apiary will use here (interpreter, uv, git, bubblewrap, PyPI), what is missing.",
    ),
    "registry": LazyCommand(
        "registry_core.cli", "app", "Load, validate, edit and index the package registry."
    ),
    "report": LazyCommand(
        "reporter.cli",
        "app",
        "Summaries, comparisons, history and shard merges of apiary runs (read from events).",
    ),
    "enrich": LazyCommand(
        "runner_core.cli_enrich",
        "app",
        "Propose install and test commands for registry entries, and verify them by running.",
    ),
    "work": LazyCommand(
        "runner_core.cli_work",
        "app",
        "Show and prune the work directory: each package's venvs, caches and sources.",
    ),
    "python": LazyCommand(
        "runner_core.cli_python",
        "app",
        "Build, list and remove the CPython builds to hunt on (JIT, debug, sanitizers, ft).",
    ),
}


class ApiaryGroup(LazyGroup):
    lazy = SUBCOMMANDS


app = typer.Typer(
    name="apiary",
    help="Hunt interpreter crashes by running the test suites of real PyPI packages.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    cls=ApiaryGroup,
)


def _print_versions(value: bool) -> None:
    if not value:
        return
    from runner_core.versions import version_lines

    typer.echo("\n".join(version_lines()))
    raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_print_versions,
        is_eager=True,
        help="Print every apiary package with its version and exit.",
    ),
) -> None:
    """Hunt interpreter crashes by running the test suites of real PyPI packages."""


def doctor_command(
    target_python: Annotated[str, typer.Option(help="Interpreter to check.")] = sys.executable,
    offline: Annotated[bool, typer.Option(help="Do not check that PyPI is reachable.")] = False,
) -> None:
    """Show what apiary will use here (interpreter, uv, git, bubblewrap, PyPI), what is missing."""
    from normalized_events.exits import ExitCode

    from runner_core.doctor import run_checks

    checks = run_checks(target_python, check_network=not offline)
    for check in checks:
        mark = "ok  " if check.ok else ("FAIL" if check.required else "warn")
        typer.echo(f"{mark} {check.name:<12} {check.detail}")
    if any(not c.ok and c.required for c in checks):
        raise typer.Exit(ExitCode.FINDINGS)


def main() -> None:
    app()

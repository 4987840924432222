"""The `apiary` command line: a thin typer layer over the library."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from normalized_events.exits import ExitCode
from registry_core.cli import app as registry_app
from reporter.cli import app as report_app
from sandbox_runner.cli import SANDBOX_CONTEXT, sandbox_command

from runner_core.cli_bisect import bisect_command
from runner_core.cli_enrich import app as enrich_app
from runner_core.cli_python import app as python_app
from runner_core.cli_run import run_command
from runner_core.versions import installed_versions

app = typer.Typer(
    name="apiary",
    help="Hunt interpreter crashes by running the test suites of real PyPI packages.",
    no_args_is_help=True,
    add_completion=False,
)


def _print_versions(value: bool) -> None:
    if not value:
        return
    for name, found in installed_versions().items():
        typer.echo(f"{name} {found or 'not installed'}")
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


app.add_typer(registry_app, name="registry")
app.add_typer(report_app, name="report")
app.add_typer(enrich_app, name="enrich")
app.add_typer(python_app, name="python")


app.command("run")(run_command)
app.command("bisect")(bisect_command)
app.command("sandbox", context_settings=SANDBOX_CONTEXT)(sandbox_command)


@app.command("doctor")
def doctor(
    target_python: Annotated[str, typer.Option(help="Interpreter to check.")] = sys.executable,
    offline: Annotated[bool, typer.Option(help="Do not check that PyPI is reachable.")] = False,
) -> None:
    """Show what apiary will use here (interpreter, uv, git, bubblewrap, PyPI), what is missing."""
    from runner_core.doctor import run_checks

    checks = run_checks(target_python, check_network=not offline)
    for check in checks:
        mark = "ok  " if check.ok else ("FAIL" if check.required else "warn")
        typer.echo(f"{mark} {check.name:<12} {check.detail}")
    if any(not c.ok and c.required for c in checks):
        raise typer.Exit(ExitCode.FINDINGS)


def main() -> None:
    app()

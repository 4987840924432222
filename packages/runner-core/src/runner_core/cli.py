"""The `apiary` command line: a thin typer layer over the library."""

from __future__ import annotations

import typer
from registry_core.cli import app as registry_app

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


def main() -> None:
    app()

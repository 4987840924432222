"""The `apiary` executable's entry point: answers `--version` before importing the CLI.

`apiary --version` is how scripts and users check an installation; it needs package
metadata only, so it is answered here without importing typer or any command module.
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from runner_core.versions import version_lines

        sys.stdout.write("".join(f"{line}\n" for line in version_lines()))
        return
    from runner_core.cli import app

    app()

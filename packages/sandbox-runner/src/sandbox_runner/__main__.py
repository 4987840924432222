"""`python -m sandbox_runner [OPTIONS] -- CMD...`: the `apiary sandbox` command alone."""

import typer

from sandbox_runner.cli import SANDBOX_CONTEXT, sandbox_command

app = typer.Typer(add_completion=False, rich_markup_mode=None)
app.command(context_settings=SANDBOX_CONTEXT)(sandbox_command)

if __name__ == "__main__":
    app(prog_name="python -m sandbox_runner")

"""``python -m registry_core``: the registry commands on their own."""

from registry_core.cli import app

app(prog_name="registry")

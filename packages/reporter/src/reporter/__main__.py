"""``python -m reporter``: the report commands without the rest of apiary."""

from reporter.cli import app

app(prog_name="apiary report")

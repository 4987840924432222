"""The install step's last command: what the venv holds, and pytest's bytecode.

It runs inside the install's sandbox, like the install: the venv's interpreter is not
started outside a sandbox once package code has been installed into it (a `.pth` file
runs at every start-up). In one process it

- writes the name and version of every distribution in the venv to a file of the venv,
  which the run records in its events (`installed`) and keeps with the venv;
- with uv and a pytest suite, compiles pytest's own modules in the venv. Test commands
  run with ``PYTHONDONTWRITEBYTECODE=1`` (no ``__pycache__`` in the package's tree), and
  uv, unlike pip, installs without compiling: every pytest run (the suite, each crash
  rerun, the isolated test) would compile pytest from source again, about as much CPU
  as a small suite itself. Nothing of the package under test is compiled.

Nothing here can fail the install: a venv whose inventory cannot be read records none.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from runner_core.commands import CommandStep, Installer
from runner_core.planted import read_json_inside

INVENTORY = ".apiary-installed.json"

_SCRIPT = """\
import json, sys
import importlib.metadata as m
found = {d.metadata["Name"]: d.version for d in m.distributions() if d.metadata["Name"]}
with open(sys.argv[1], "w") as out:
    json.dump(found, out)
if sys.argv[2] == "compile":
    sys.dont_write_bytecode = False
    import compileall, os, pytest, _pytest
    compileall.compile_dir(os.path.dirname(_pytest.__file__), quiet=1)
"""


def inventory_step(venv: Path, installer: Installer, framework: str) -> CommandStep:
    """The command; it runs from the venv, so no module of the package's tree shadows
    what it imports."""
    python = shlex.quote(str(venv / "bin" / "python"))
    compile_pytest = installer == "uv" and framework == "pytest"
    args = shlex.join([str(venv / INVENTORY), "compile" if compile_pytest else "-"])
    line = f"{python} -c {shlex.quote(_SCRIPT)} {args} >/dev/null 2>&1 || true"
    return CommandStep(shell=line, cwd=str(venv))


def read_inventory(venv: Path) -> dict[str, str]:
    """name -> version from the inventory file, sorted by name; empty when it is
    missing or is not such a mapping (the venv's code could have written it)."""
    found = read_json_inside(venv / INVENTORY)
    if not isinstance(found, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in found.items()
    ):
        return {}
    return dict(sorted(found.items(), key=lambda kv: kv[0].lower()))

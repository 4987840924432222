"""The test runner's bytecode, compiled once per venv instead of at every test run.

Test commands run with ``PYTHONDONTWRITEBYTECODE=1`` (no ``__pycache__`` in the package's
tree), and uv, unlike pip, installs without compiling: so every pytest run (the suite,
each crash rerun, the isolated test) would compile pytest from source again, about as
much CPU as a small suite itself. The install step ends by compiling pytest's own
modules in the venv, the way pip compiles what it installs; nothing of the package under
test is compiled, and no failure here can fail the install (the test step would meet it).
"""

from __future__ import annotations

import shlex
from pathlib import Path

from runner_core.commands import CommandStep, Installer

# What `import pytest` loads, plus pytest's own plugins that it imports later; run with
# bytecode writing forced on (the user's environment may turn it off).
_SCRIPT = (
    "import sys; sys.dont_write_bytecode = False\n"
    "import compileall, os, pytest, _pytest\n"
    "compileall.compile_dir(os.path.dirname(_pytest.__file__), quiet=1)\n"
)


def compile_step(venv: Path, installer: Installer, framework: str) -> CommandStep | None:
    """The install's last command: compile the test runner in the venv at `venv`, or
    None when there is nothing to gain (pip compiles; unittest lives in the stdlib)."""
    if installer != "uv" or framework != "pytest":
        return None
    python = shlex.quote(str(venv / "bin" / "python"))
    # Run from the venv, not the source tree, so that no module of the package's tree
    # shadows pytest; `|| true`: a venv without pytest is the test step's business.
    line = f"{python} -c {shlex.quote(_SCRIPT)} >/dev/null 2>&1 || true"
    return CommandStep(shell=line, cwd=str(venv))

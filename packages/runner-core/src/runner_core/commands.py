"""Turning a registry entry's shell commands into steps that run inside a venv.

Commands are tokenised the way a shell would (shlex), split at ``&&``, ``;`` and new
lines, and each step is rewritten by its argv: ``python``/``python3`` become the venv's
interpreter, ``pip install`` / ``python -m pip install`` become the chosen installer. A
step that uses other shell syntax (pipes, redirections, ``||``, substitutions) runs
through ``/bin/sh`` with the venv's ``bin`` first on PATH, where ``python`` already means
the venv's interpreter. Nothing is rewritten by string replacement.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Installer = Literal["uv", "pip"]

_SEPARATORS = {"&&", ";"}
_SHELL_ONLY = re.compile(r"^[|<>&()]+$|^\|\|$")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_PYTHON = re.compile(r"^python(3(\.\d+)?)?$")


@dataclass(frozen=True)
class CommandStep:
    """One step: an argv to exec directly, or a shell string; with its cwd and env."""

    argv: tuple[str, ...] = ()
    shell: str | None = None
    cwd: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    pip_install: bool = False

    def display(self) -> str:
        prefix = "".join(f"{k}={shlex.quote(v)} " for k, v in self.env.items())
        where = f"(cd {self.cwd}) " if self.cwd else ""
        body = self.shell if self.shell is not None else shlex.join(self.argv)
        return f"{where}{prefix}{body}"


def _tokens(command: str) -> list[str]:
    # Continuation lines join; other new lines separate commands, as in a script.
    text = command.replace("\\\n", " ").replace("\n", " ; ")
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|<>()")
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    return list(lexer)


def split_steps(command: str | None) -> list[list[str]]:
    """Tokens of each ``&&`` / ``;`` / newline separated step (empty steps dropped)."""
    if not command or not command.strip():
        return []
    steps: list[list[str]] = [[]]
    for token in _tokens(command):
        if token in _SEPARATORS:
            steps.append([])
        else:
            steps[-1].append(token)
    return [s for s in steps if s]


def _is_pip_install(argv: list[str]) -> int:
    """Index where pip's own arguments start (after ``install``), or 0 if not pip install."""
    if len(argv) >= 2 and argv[0] in {"pip", "pip3"} and argv[1] == "install":
        return 2
    if len(argv) >= 4 and _PYTHON.match(argv[0]) and argv[1:4] == ["-m", "pip", "install"]:
        return 4
    return 0


def plan_steps(
    command: str | None, venv_python: Path, installer: Installer, uv: str | None
) -> list[CommandStep]:
    """The steps of an install or test command, rewritten for the venv and installer."""
    planned: list[CommandStep] = []
    cwd: str | None = None
    for tokens in split_steps(command):
        env: dict[str, str] = {}
        while tokens and _ASSIGNMENT.match(tokens[0]):
            key, _, value = tokens.pop(0).partition("=")
            env[key] = value
        if not tokens:
            continue
        if any(_SHELL_ONLY.match(t) for t in tokens) or any("$" in t or "`" in t for t in tokens):
            planned.append(CommandStep(shell=shlex.join(tokens), cwd=cwd, env=env))
            continue
        if tokens[0] == "cd" and len(tokens) == 2:
            cwd = tokens[1] if cwd is None else str(Path(cwd) / tokens[1])
            continue
        start = _is_pip_install(tokens)
        if start:
            args = tokens[start:]
            if installer == "uv" and uv:
                argv = [uv, "pip", "install", "--python", str(venv_python), *args]
            else:
                argv = [str(venv_python), "-m", "pip", "install", *args]
            planned.append(CommandStep(tuple(argv), cwd=cwd, env=env, pip_install=True))
            continue
        argv = list(tokens)
        if _PYTHON.match(argv[0]):
            argv[0] = str(venv_python)
        elif argv[0] in {"pip", "pip3"}:
            argv[:1] = [str(venv_python), "-m", "pip"]
        planned.append(CommandStep(tuple(argv), cwd=cwd, env=env))
    return planned


def install_packages_step(
    requirements: list[str], venv_python: Path, installer: Installer, uv: str | None
) -> CommandStep:
    if installer == "uv" and uv:
        argv = [uv, "pip", "install", "--python", str(venv_python), *requirements]
    else:
        argv = [str(venv_python), "-m", "pip", "install", *requirements]
    return CommandStep(tuple(argv), pip_install=True)


def with_suffix(command: str, suffix: str | None) -> str:
    return f"{command} {suffix}" if suffix else command


def pytest_addopts(existing: str | None, uses_xdist: bool) -> str | None:
    """PYTEST_ADDOPTS with xdist disabled for xdist users, keeping what was there."""
    if not uses_xdist:
        return existing
    parts = shlex.split(existing or "")
    if "no:xdist" in parts:
        return existing
    return shlex.join([*parts, "-p", "no:xdist"])

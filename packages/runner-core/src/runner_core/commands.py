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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from registry_core.xdist import in_one_process

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


_FILE_URL = re.compile(r"file://(?P<path>/[^\s'\"]*)")
_ABSOLUTE = re.compile(r"(?:^|[=@])\s*(?P<path>/[^\s'\"=]*)$")


# Never bound for a command that names them: the places the sandbox keeps secrets
# from package code (a registry entry naming ~/.ssh must not be a way around that).
_PRIVATE = tuple(
    Path(p) for p in ("/root", "/etc", "/run", "/var", "/proc", "/sys", "/dev", "/boot")
)
# Folders that may hold what a command names, but are never bound whole.
_HOLDERS = (Path("/home"), Path("/tmp"))  # noqa: S108 (compared with, never written to)


def named_host_paths(command: str | None, extra: Sequence[str] = ()) -> list[Path]:
    """Existing absolute host paths that install commands and extra deps name.

    `/tmp/x/helper`, `--find-links=/opt/wheels`, `-r /path/reqs.txt`,
    `helper @ file:///tmp/x/helper`: the sandbox binds them read-only into the install
    step, whose private /tmp and minimal view of the host would otherwise hide them.
    Paths in the user's home, /root, /etc, /run, /var, /proc, /sys, /dev and /boot, and
    folders holding those (`/`, `/home`, `/tmp` itself), are never bound, nor is a path
    that leads to one of them through a link (a package's code can plant links in the
    work folder, and the sandbox binds what a link points to).
    """
    candidates = [t for step in split_steps(command) for t in step] + list(extra)
    found: dict[Path, None] = {}
    for token in candidates:
        for pattern in (_FILE_URL, _ABSOLUTE):
            match = pattern.search(token)
            if match is None:
                continue
            path = Path(match.group("path"))
            if path.exists() and _may_name(path):
                found[path] = None
    return list(found)


# `host:path` and `user@host:path`: git's scp-like remotes.
_SCP_LIKE = re.compile(r"^[^/:]+:")


def registry_repo_problem(repo: str) -> str | None:
    """Why a registry entry may not name `repo`, or None.

    A local repository (a path or a `file://` URL) is cloned by apiary on the host into
    the work folder, where the package's install, which has the network, reads it: a
    registry entry may name one only where a command may name a host path (not in the
    home, /root, /etc..., not through a link to them), and never by a relative path,
    which git would read from wherever it runs. The user can still give any folder with
    `--repo-override`.
    """
    refused = ": a registry entry may not name it (--repo-override can)"
    if repo.startswith("file:"):
        path = Path(unquote(urlsplit(repo).path))
    elif "://" in repo or _SCP_LIKE.match(repo):
        return None  # a remote repository
    else:
        path = Path(repo)
    if not path.is_absolute():
        return f"the repository {repo!r} is a relative local path{refused}"
    if not _may_name(path):
        return f"the repository {repo} is a private host path{refused}"
    return None


def _may_name(path: Path) -> bool:
    """`_may_bind` for the path as named and for where its links lead."""
    return _may_bind(path) and _may_bind(path.resolve())


def _may_bind(path: Path) -> bool:
    private = (*_PRIVATE, Path.home())
    if any(path == p or path.is_relative_to(p) for p in private):
        return False
    return not any(p.is_relative_to(path) for p in (*private, *_HOLDERS))


def safe_path_of(command: str | None) -> dict[str, str]:
    """``PYTHONSAFEPATH`` as the command's steps set it for themselves
    (``PYTHONSAFEPATH=1 python -m pytest``): the import check then imports the package as
    the tests will, from the venv, never from the source folder it runs in."""
    found: dict[str, str] = {}
    for tokens in split_steps(command):
        for token in tokens:
            if not _ASSIGNMENT.match(token):
                break
            key, _, value = token.partition("=")
            if key == "PYTHONSAFEPATH":
                found[key] = value
    return found


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


def needs_seeded_venv(
    install_command: str | None, test_command: str, installer: Installer, uv: str | None
) -> bool:
    """Whether a venv needs pip (and setuptools) of its own for these commands.

    Not when uv installs and every install step is a ``pip install`` (which uv runs) and
    the test command never names pip or setup.py; any other step (a shell line, ``python
    setup.py``, ``pip uninstall``) may use what seeding provides, so it is kept.
    """
    if installer != "uv" or uv is None:
        return True
    steps = plan_steps(install_command, Path("python"), installer, uv)
    if not all(step.pip_install and step.argv[:1] == (uv,) for step in steps):
        return True
    words = set(_tokens(test_command))
    return bool(words & {"pip", "pip3", "setup.py"})


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


def pytest_addopts(existing: str | None, uses_xdist: bool, test_command: str = "") -> str | None:
    """PYTEST_ADDOPTS with xdist disabled for xdist users, keeping what was there.

    A test command that already keeps xdist in one process (`-n 0`: xdist loaded for its
    markers, no workers) is left as it is: `-p no:xdist` would unregister the markers.
    """
    parts = shlex.split(existing or "")
    if not uses_xdist or "no:xdist" in parts or in_one_process(test_command):
        return existing
    return shlex.join([*parts, "-p", "no:xdist"])

"""Finding the programs a command runs that the sandbox's view of the host would hide.

Under bwrap only the system directories and the spec's paths are visible. A command that
runs a program from elsewhere (a venv or checkout under the host's /tmp, a pyenv
interpreter under /root, a tool under the work tree) needs that program's folder bound
back read-only: its executable's folder, widened to the whole venv when it is a venv's
bin (plus the venv's base interpreter), and to the whole prefix when it is a `bin`
folder. Only programs the command names are bound, never every PATH entry.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
from pathlib import Path

from sandbox_runner.view import visible


def programs_outside_view(
    argv: list[str], env: dict[str, str], roots: tuple[Path, ...]
) -> tuple[Path, ...]:
    """Folders to bind read-only so that the programs named in `argv` can run; `roots`
    are the paths the sandbox already shows (besides the system directories)."""
    found: set[Path] = set()
    for program in _named_programs(argv, env):
        for folder in _folders_for(program):
            if not visible(folder, roots) and _exists(folder, dir_=True):
                found.add(folder)
    return tuple(sorted(found))


def _named_programs(argv: list[str], env: dict[str, str]) -> list[Path]:
    """The executable, venv programs on PATH, and programs named by absolute path inside
    the command (also inside `sh -c '...'`)."""
    programs: list[Path] = []
    first = argv[0] if os.sep in argv[0] else shutil.which(argv[0], path=env.get("PATH"))
    if first:
        programs.append(Path(first).absolute())
    for entry in env.get("PATH", "").split(os.pathsep):
        folder = Path(entry)
        if entry and folder.is_absolute() and _exists(folder.parent / "pyvenv.cfg"):
            programs.append(folder / "python")
    words = list(argv[1:])
    for word in argv[1:]:
        with contextlib.suppress(ValueError):
            words += shlex.split(word)
    for word in words:
        path = Path(word)
        if path.is_absolute() and _is_program(path):
            programs.append(path)
    return programs


def _folders_for(program: Path) -> list[Path]:
    folders = [_prefix_of(program.parent)]
    with contextlib.suppress(OSError):
        real = program.resolve()
        if real != program:
            folders.append(_prefix_of(real.parent))
    venv_cfg = program.parent.parent / "pyvenv.cfg"
    if _exists(venv_cfg):
        home = _venv_home(venv_cfg)
        if home is not None:
            folders.append(_prefix_of(home))
    return folders


def _prefix_of(folder: Path) -> Path:
    """A venv's or installation's root for its `bin` folder; the folder itself otherwise."""
    return folder.parent if folder.name == "bin" and folder.parent != Path("/") else folder


def _venv_home(cfg: Path) -> Path | None:
    with contextlib.suppress(OSError, UnicodeDecodeError):
        for line in cfg.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip() == "home" and value.strip():
                with contextlib.suppress(OSError):
                    return Path(value.strip()).resolve()
    return None


def _is_program(path: Path) -> bool:
    return _exists(path) and os.access(path, os.X_OK)


def _exists(path: Path, *, dir_: bool = False) -> bool:
    """A file (or directory) there that this user may see: unreadable places are not."""
    try:
        return path.is_dir() if dir_ else path.is_file()
    except OSError:
        return False

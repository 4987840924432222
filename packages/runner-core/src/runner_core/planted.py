"""Folders sandboxed code could write, and apiary's own use of them from outside.

A package's install runs with its installer cache (where its venv lives) writable; its
tests run with the venv, the source tree, its home and the step's evidence folder
writable. Code running there can put a symbolic link, a FIFO or a huge file anywhere
inside. apiary, outside the sandbox and often as root, must never follow such a link:
a folder bound writable into the next step's sandbox would bind the link's target (a way
out of the sandbox), a file written there would overwrite the target, and a file read
would copy a host file into the results. Every process of a step is gone when apiary
looks (the sandbox kills the whole tree), so a check before each use is enough.

- `refuse_links`: no folder on the way from a trusted root to a path is a link;
- `git_folders`: the `.git` folders of writable folders, which the sandbox gets read-only:
  apiary runs git in a clone it reuses (fetch, checkout, clean), and git runs commands
  its repository's config names (`remote.*.uploadpack`, hooks, `core.fsmonitor`...);
- files apiary writes there are new files put in place (`normalized_events.files.
  write_atomic`): a link in their place is replaced, never written through;
- files apiary reads there are read only when they are regular files, bounded
  (`normalized_events.files.read_whole`, `read_json_inside`); a package's own files are
  read only when they are inside its tree (`read_inside`): a repository can hold a link
  to any host path, and a requirements file can name one.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any

from normalized_events.files import read_whole

from runner_core.errors import RunnerError

# The JSON files apiary keeps in a venv are a few kilobytes.
MAX_JSON_BYTES = 4 << 20
# A configuration or test file of a package's tree.
MAX_TREE_FILE_BYTES = 8 << 20


class PlantedLink(RunnerError):
    """A folder apiary was about to use is reached through a symbolic link."""


def refuse_links(roots: tuple[Path, ...], path: Path, what: str) -> None:
    """Raise PlantedLink when a folder between one of `roots` (trusted: made by apiary or
    given by the user) and `path` (included) is a symbolic link; paths outside every root
    are not checked here."""
    for root in roots:
        found = _link_below(root, path)
        if found is not None:
            raise PlantedLink(
                f"the {what} {path} leads through a symbolic link ({found} -> "
                f"{_target(found)}), which code run in the sandbox can plant: refused"
            )


def git_folders(writable: tuple[Path, ...]) -> tuple[Path, ...]:
    """The `.git` folders (real folders, not links) directly in `writable` folders."""
    found = []
    for folder in writable:
        try:
            if stat.S_ISDIR(os.lstat(folder / ".git").st_mode):
                found.append(folder / ".git")
        except OSError:
            continue
    return tuple(dict.fromkeys(found))


def _link_below(root: Path, path: Path) -> Path | None:
    for base in dict.fromkeys((root, Path(os.path.realpath(root)))):
        try:
            parts = path.relative_to(base).parts
        except ValueError:
            continue
        current = base
        for part in parts:
            current = current / part
            try:
                if stat.S_ISLNK(os.lstat(current).st_mode):
                    return current
            except OSError:
                return None  # missing: nothing to follow
        return None
    return None


def _target(link: Path) -> str:
    try:
        return str(link.readlink())
    except OSError:
        return "?"


def read_json_inside(path: Path, limit: int = MAX_JSON_BYTES) -> Any:
    """The JSON value of `path`, or None when it is missing, not a regular file (a link,
    a FIFO), larger than `limit`, or not JSON (nested past the parser's depth included)."""
    try:
        return json.loads(read_whole(path, limit))
    except (OSError, ValueError, RecursionError):
        return None


def read_inside(root: Path, path: Path, limit: int = MAX_TREE_FILE_BYTES) -> bytes:
    """The bytes of `path`, a file of the tree at `root`; OSError when it is not inside the
    tree (through a link, `..` or an absolute path), not a regular file, or over `limit`."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    if os.path.commonpath([real_root, real]) != real_root:
        raise OSError(errno.EACCES, f"outside the package's tree ({real})", str(path))
    return read_whole(Path(real), limit)

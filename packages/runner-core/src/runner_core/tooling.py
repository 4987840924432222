"""Finding the external tools the runner uses."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path

UV_VARIABLE = "APIARY_UV"
OLD_UV_VARIABLE = "UV"  # what scripts/bootstrap.sh exports; read after APIARY_UV


def find_uv(env: Mapping[str, str] | None = None, fallbacks: Sequence[Path] = ()) -> str | None:
    """uv, for every part of the monorepo that runs it (the runner, `apiary doctor`, the
    snapshot publisher); None when there is none.

    In order: ``$APIARY_UV``, then ``$UV`` (the older name: the first one set wins, and
    ``none`` means no uv at all), the `uv` package installed with apiary, a ``uv`` beside
    the running interpreter, ``uv`` on ``PATH``, then ``fallbacks`` (executables tried
    last). ``env`` is ``os.environ`` unless given.
    """
    env = os.environ if env is None else env
    return _search(
        env.get(UV_VARIABLE) or env.get(OLD_UV_VARIABLE) or None,
        env.get("PATH"),
        tuple(fallbacks),
    )


@cache
def _search(explicit: str | None, path: str | None, fallbacks: tuple[Path, ...]) -> str | None:
    if explicit is not None:
        return explicit if explicit != "none" else None
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        pass
    beside = Path(sys.executable).with_name("uv")
    if beside.is_file():
        return str(beside)
    found = shutil.which("uv", path=path)
    if found is not None:
        return found
    return next((str(f) for f in fallbacks if f.is_file() and os.access(f, os.X_OK)), None)


@cache
def find_git() -> str | None:
    return shutil.which("git")

"""Finding the external tools the runner uses."""

from __future__ import annotations

import os
import shutil
import sys
from functools import cache
from pathlib import Path


@cache
def find_uv() -> str | None:
    """uv from APIARY_UV, the `uv` package installed with apiary, or PATH; None if absent."""
    explicit = os.environ.get("APIARY_UV")
    if explicit:
        return explicit if explicit != "none" else None
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        pass
    beside = Path(sys.executable).with_name("uv")
    if beside.is_file():
        return str(beside)
    return shutil.which("uv")


@cache
def find_git() -> str | None:
    return shutil.which("git")

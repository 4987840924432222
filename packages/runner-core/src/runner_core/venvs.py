"""Virtual environments keyed by everything that makes them what they are.

The key covers the interpreter's identity (path, version, build flags, binary size and
mtime), the package, the install commands, the extra dependencies, the installer and the
source revision. A venv counts as ready only once its install finished (a marker file is
written last), so an interrupted install is never reused.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from normalized_events.files import write_atomic

from runner_core.interpreter import Interpreter
from runner_core.planted import read_json_inside

_MARKER = ".apiary-venv.json"


@dataclass(frozen=True)
class VenvKey:
    package: str
    interpreter: str
    install_command: str
    extra_deps: tuple[str, ...]
    installer: str
    source_revision: str
    # Whether the venv gets pip (and, before Python 3.12, setuptools and wheel) at creation.
    seeded: bool = True

    def digest(self) -> str:
        fields = [
            self.package,
            self.interpreter,
            self.install_command,
            list(self.extra_deps),
            self.installer,
            self.source_revision,
        ]
        # Seeded venvs keep the digests they always had; an unseeded one is a different venv.
        material = json.dumps(fields if self.seeded else [*fields, "unseeded"])
        return hashlib.sha256(material.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Venv:
    path: Path
    key: str
    ready: bool

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def bin(self) -> Path:
        return self.path / "bin"


def venv_path(root: Path, key: VenvKey) -> Path:
    return root / f"{key.package}-{key.interpreter[:8]}-{key.digest()[:12]}"


def lookup_venv(root: Path, key: VenvKey, refresh: bool) -> Venv:
    path = venv_path(root, key)
    marker = path / _MARKER
    ready = not refresh and marker.is_file() and (path / "bin" / "python").exists()
    return Venv(path=path, key=key.digest(), ready=ready)


def create_venv(
    venv: Venv, interpreter: Interpreter, uv: str | None, seeded: bool = True
) -> list[str]:
    """The command that creates an empty venv at ``venv.path`` (after clearing the place).

    With uv, pip is seeded only when ``seeded``: seeding copies pip into every venv, which
    costs more than creating the venv itself, for installs that uv does without it.
    """
    shutil.rmtree(venv.path, ignore_errors=True)
    venv.path.parent.mkdir(parents=True, exist_ok=True)
    # Old venvs of this package for this interpreter are stale once the key moved on.
    prefix = venv.path.name.rsplit("-", 1)[0] + "-"
    for stale in venv.path.parent.glob(prefix + "*"):
        if stale != venv.path:
            shutil.rmtree(stale, ignore_errors=True)
    if uv:
        seed = ["--seed"] if seeded else []
        argv = [uv, "venv", "--quiet", *seed, "--python", str(interpreter.path), str(venv.path)]
    else:
        argv = [str(interpreter.path), "-m", "venv", str(venv.path)]
    return argv


def mark_ready(venv: Venv, key: VenvKey, installed: dict[str, str]) -> None:
    """Written last: the venv is complete. Keeps what was installed, so a reused venv
    needs no extra process to say what it holds."""
    payload = {
        "key": venv.key,
        "package": key.package,
        "source_revision": key.source_revision,
        "installed": installed,
    }
    # Replaced, not written through: the install's code could have left a link there.
    write_atomic(venv.path / _MARKER, json.dumps(payload))


def recorded_distributions(venv: Venv) -> dict[str, str] | None:
    """What mark_ready recorded for this venv, or None when unknown (the venv is
    writable by the code it runs: the marker is read only when it is a regular file)."""
    found = read_json_inside(venv.path / _MARKER)
    installed = found.get("installed") if isinstance(found, dict) else None
    return installed if isinstance(installed, dict) else None

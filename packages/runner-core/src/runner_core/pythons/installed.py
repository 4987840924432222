"""The builds in the user cache: listing, finding by name, removing."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platformdirs import user_cache_path

from runner_core.pythons.errors import BuildError

MARKER = ".apiary-build.json"


@dataclass(frozen=True)
class BuiltPython:
    """One finished build: its interpreter and what it was built from."""

    prefix: Path
    python: Path
    name: str
    version: str
    variant: str
    key: str
    source: dict[str, Any] = field(default_factory=dict)
    built_at: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def full_name(self) -> str:
        return f"{self.name}-{self.key}"


def user_cache() -> Path:
    """apiary's user cache folder (`~/.cache/apiary` on Linux), as for its work dir."""
    return user_cache_path("apiary")


def builds_root(cache: Path | None = None) -> Path:
    return (cache or user_cache()) / "pythons"


def read_build(prefix: Path) -> BuiltPython | None:
    """The build in `prefix`, or None when it is not a finished build."""
    try:
        data = json.loads((prefix / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return None
    version = str(data.get("version", ""))
    source = data.get("source")
    python = python_in(prefix, version)
    if python is None:
        return None
    return BuiltPython(
        prefix=prefix,
        python=python,
        name=data["name"],
        version=version,
        variant=str(data.get("variant", "")),
        key=str(data.get("key", "")),
        source=source if isinstance(source, dict) else {},
        built_at=data.get("built_at"),
        warnings=tuple(str(w) for w in data.get("warnings", []) if isinstance(w, str)),
    )


def python_in(prefix: Path, version: str) -> Path | None:
    minor = ".".join(version.split(".")[:2])
    for name in (f"python{minor}t", f"python{minor}d", f"python{minor}"):
        candidate = prefix / "bin" / name
        if candidate.is_file():
            return candidate
    return None


def list_built(cache: Path | None = None) -> list[BuiltPython]:
    """Finished builds, newest first."""
    root = builds_root(cache)
    if not root.is_dir():
        return []
    found = [b for p in root.glob("cpython-*") if (b := read_build(p)) is not None]
    return sorted(found, key=lambda b: (b.built_at or "", b.name), reverse=True)


def find_built(name: str, cache: Path | None = None) -> BuiltPython | None:
    """A build by name (`3.13.5-jit`: the newest of that name), full name or key."""
    builds = list_built(cache)
    exact = [b for b in builds if name in (b.full_name, b.key)]
    named = [b for b in builds if b.name == name]
    chosen = exact or named
    return chosen[0] if chosen else None


def remove_built(name: str, cache: Path | None = None) -> list[BuiltPython]:
    """Remove every build with that name (or the one with that full name or key)."""
    builds = list_built(cache)
    chosen = [b for b in builds if name in (b.full_name, b.key)] or [
        b for b in builds if b.name == name
    ]
    if not chosen:
        raise BuildError(f"no built interpreter named {name!r} (see `apiary python list`)")
    for build in chosen:
        shutil.rmtree(build.prefix)
    return chosen

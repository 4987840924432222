"""Find the registry to use: explicit, environment, checkout, or the one bundled in the wheel."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from registry_core.errors import RegistryNotFoundError

ENV_VAR = "APIARY_REGISTRY"
# Where the wheel carries its copy of the repository's registry/ (made at build time).
BUNDLED_DIR = "_registry"


def _is_checkout(directory: Path) -> bool:
    return (directory / "registry").is_dir() and (
        directory / "packages" / "registry-core" / "pyproject.toml"
    ).is_file()


def checkout_registry(start: Path | None = None) -> Path | None:
    """The ``registry/`` of the apiary checkout around ``start`` (the working directory)
    or around this module's own source, if either is inside a checkout."""
    here = Path(__file__).resolve()
    candidates = [(start or Path.cwd()).resolve(), here.parent]
    for candidate in candidates:
        for directory in (candidate, *candidate.parents):
            if _is_checkout(directory):
                return directory / "registry"
    return None


def bundled_registry() -> Path | None:
    """The registry shipped inside the installed registry-core wheel, if any."""
    bundled = resources.files("registry_core") / BUNDLED_DIR
    path = Path(str(bundled))
    return path if path.is_dir() else None


def _must_be_directory(path: Path, source: str) -> Path:
    if not path.is_dir():
        state = "is not a directory" if path.exists() else "does not exist"
        raise RegistryNotFoundError(f"{source}: {path} {state}")
    return path


def locate_registry(explicit: Path | None = None) -> Path:
    """The registry directory to use.

    In order: ``explicit`` (the ``--registry-dir`` option), the ``APIARY_REGISTRY``
    environment variable, the repository's ``registry/`` when run from an apiary checkout,
    and the registry bundled in the registry-core wheel.
    """
    if explicit is not None:
        return _must_be_directory(Path(explicit), "--registry-dir")
    from_env = os.environ.get(ENV_VAR, "")
    if from_env:
        return _must_be_directory(Path(from_env), ENV_VAR)
    found = checkout_registry() or bundled_registry()
    if found is None:
        raise RegistryNotFoundError(
            f"no registry found: pass --registry-dir or set {ENV_VAR} to a registry directory"
        )
    return found

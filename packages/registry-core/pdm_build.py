"""Build hook: ship the repository's registry/ inside the wheel as package data.

From a checkout the registry is ``../../registry``; the sdist carries its own copy under
``registry/`` so that a wheel built from the sdist bundles the same files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

WHEEL_DIR = "registry_core/_registry"


def _registry_source(root: Path) -> Path | None:
    for candidate in (root / "registry", root.parent.parent / "registry"):
        if (candidate / "index.yaml").is_file() or (candidate / "packages").is_dir():
            return candidate
    return None


def _registry_files(source: Path) -> list[tuple[str, Path]]:
    files = []
    index = source / "index.yaml"
    if index.is_file():
        files.append(("index.yaml", index))
    packages = source / "packages"
    if packages.is_dir():
        files += [(f"packages/{p.name}", p) for p in sorted(packages.glob("*.yaml"))]
    return files


def pdm_build_update_files(context: Any, files: dict[str, Path]) -> None:
    if context.target not in ("wheel", "sdist"):
        return  # editable installs read the checkout's registry/ directly
    source = _registry_source(Path(context.root))
    if source is None:
        raise RuntimeError("registry-core build: no registry/ next to the package or in ../../")
    prefix = WHEEL_DIR if context.target == "wheel" else "registry"
    for relative, path in _registry_files(source):
        files[f"{prefix}/{relative}"] = path

"""The module a package is imported as, read from its tree when its name does not say.

Rules in order, the first that tells wins: a namespace package (dots where the name has
dashes), the name itself, its private twin (``_name``), setuptools' ``top_level.txt``,
flit's module, a known import name, the only package, a package the name starts with.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from runner_core.enrich.config import ProjectConfig
from runner_core.enrich.distnames import IMPORT_TO_DIST, canonical
from runner_core.enrich.finding import Finding
from runner_core.enrich.tests_layout import TestLayout


def import_name(name: str | None, config: ProjectConfig, layout: TestLayout) -> Finding:
    """The module the package is imported as, when it is not its name; the first rule
    that tells wins."""
    packages = layout.packages
    default = re.sub(r"[-.]+", "_", name).lower() if name else None
    roots = _package_roots(config, layout)
    found = (
        _namespace_package(name, roots)
        or _same_as_name(default, packages)
        or _private_module(default, roots)
        or _listed_top_level(default, layout)
        or _flit_module(default, config)
        or _known_import(name, packages)
        or _only_package(default, packages)
        or _name_starts_with_package(name, default, packages)
    )
    return found or Finding(None, [f"top-level names: {', '.join(packages) or 'none found'}"])


def _package_roots(config: ProjectConfig, layout: TestLayout) -> list[Path]:
    """Where the project's packages may be: setuptools' `where` folders, src/, the root."""
    named = [layout.root / where for where in config.package_roots]
    return [*named, layout.root / "src", layout.root]


def _namespace_package(name: str | None, roots: list[Path]) -> Finding | None:
    """A namespace package (zope.interface, jaraco.text, backports-zstd): imported with
    dots where the name has dots or dashes and the tree has that folder; else the deepest
    namespace folder with the rest of the name joined by ``_`` or nothing below it
    (google-resumable-media -> google.resumable_media, google-cloud-os-login ->
    google.cloud.oslogin); else that namespace itself, two levels deep at least
    (google-cloud-core -> google.cloud)."""
    parts = re.split(r"[-.]", name.lower()) if name else []
    if len(parts) < 2 or not all(part.isidentifier() for part in parts):
        return None
    for module in _namespace_candidates(parts):
        for base in roots:
            folder = base / Path(*module.split("."))
            if folder.is_dir() or folder.with_suffix(".py").is_file():
                return Finding(module, [f"namespace package {module} in {base.name or '.'}"])
    return None


def _namespace_candidates(parts: list[str]) -> list[str]:
    candidates = [".".join(parts)]
    for depth in range(len(parts) - 1, 0, -1):
        namespace, rest = ".".join(parts[:depth]), parts[depth:]
        candidates += [f"{namespace}.{'_'.join(rest)}", f"{namespace}.{''.join(rest)}"]
    candidates += [".".join(parts[:depth]) for depth in range(len(parts) - 1, 1, -1)]
    return list(dict.fromkeys(candidates))


def _private_module(default: str | None, roots: list[Path]) -> Finding | None:
    """argon2-cffi-bindings -> _argon2_cffi_bindings: the name's module with a leading
    underscore, when the tree has it and not the plain one."""
    if not default:
        return None
    private = f"_{default}"
    for base in roots:
        if (base / private / "__init__.py").is_file() or (base / f"{private}.py").is_file():
            return Finding(private, [f"the module is {private} in {base.name or '.'}"])
    return None


def _listed_top_level(default: str | None, layout: TestLayout) -> Finding | None:
    """What setuptools recorded in the sdist's ``*.egg-info/top_level.txt``
    (google-api-python-client -> googleapiclient): of the names listed, the package with
    the most modules, when the plain name is not among them."""
    listed: list[str] = []
    for base in (layout.root, layout.root / "src"):
        for record in sorted(base.glob("*.egg-info/top_level.txt")):
            with contextlib.suppress(OSError, UnicodeDecodeError):
                listed += record.read_text(encoding="utf-8").split()
    names = [
        n
        for n in dict.fromkeys(listed)
        if n.isidentifier()
        and (
            n in layout.packages or (layout.root / n).is_dir() or (layout.root / "src" / n).is_dir()
        )
    ]
    if not names or default in listed:
        return None
    biggest = max(names, key=lambda n: (_module_count(layout.root, n), n))
    return Finding(biggest, [f"{biggest} is the largest of egg-info's top_level.txt"])


def _module_count(root: Path, package: str) -> int:
    """Modules under ``package`` wherever the layout may put it (symlinks not followed)."""
    folders = (base / package for base in (root / "src", root / "lib", root))
    return sum(
        sum(name.endswith(".py") for name in files)
        for folder in folders
        for _, _, files in os.walk(folder)
    )


def _same_as_name(default: str | None, packages: list[str]) -> Finding | None:
    if default and default in packages:
        return Finding(None, [f"{default} is the package name as a module"])
    return None


def _flit_module(default: str | None, config: ProjectConfig) -> Finding | None:
    for hint in config.package_hints:
        if hint != default:
            return Finding(hint, [f"[tool.flit.module] name = {hint}"])
    return None


def _known_import(name: str | None, packages: list[str]) -> Finding | None:
    if not name:
        return None
    reverse = [k for k, v in IMPORT_TO_DIST.items() if canonical(v) == canonical(name)]
    for key in reverse:
        if key.split(".")[0] in packages or not packages:
            return Finding(key, [f"{name} is imported as {key}"])
    return None


def _only_package(default: str | None, packages: list[str]) -> Finding | None:
    if len(packages) == 1 and packages[0] != default:
        return Finding(packages[0], [f"the only top-level package is {packages[0]}"])
    return None


def _name_starts_with_package(
    name: str | None, default: str | None, packages: list[str]
) -> Finding | None:
    """pdfminer.six -> pdfminer, Flask-Cors -> flask_cors: a package the name starts with
    (or the name itself, spelt in another case)."""
    if not default:
        return None
    prefixed = [p for p in packages if default.startswith(p.lower() + "_")]
    if len(prefixed) == 1:
        return Finding(prefixed[0], [f"{name} starts with its package {prefixed[0]}"])
    lowered = [p for p in packages if p.lower() == default]
    if lowered:
        return Finding(lowered[0], [f"top-level package {lowered[0]}"])
    return None

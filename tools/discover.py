"""Discover the monorepo's packages: `packages/*/pyproject.toml` and their status."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

STATUSES = ("internal", "incubator", "supported", "stable")


class DiscoveryError(Exception):
    """A package's pyproject.toml cannot be used; the message names the file."""


def normalize(name: str) -> str:
    """PEP 503 normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class MonorepoPackage:
    name: str
    directory: Path
    pyproject: Path
    base_version: Version
    status: str
    requirements: tuple[Requirement, ...]
    internal_deps: tuple[str, ...] = field(default=())

    @property
    def key(self) -> str:
        return normalize(self.name)

    @property
    def publishable(self) -> bool:
        return self.status != "internal"


def _read(pyproject: Path) -> dict[str, object]:
    try:
        with pyproject.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise DiscoveryError(f"{pyproject}: not valid TOML: {exc}") from exc


def load_package(pyproject: Path) -> MonorepoPackage:
    data = _read(pyproject)
    project = data.get("project")
    if not isinstance(project, dict) or not isinstance(project.get("name"), str):
        raise DiscoveryError(f"{pyproject}: [project].name is missing")
    raw_version = project.get("version")
    if not isinstance(raw_version, str):
        raise DiscoveryError(f"{pyproject}: [project].version must be a static string")
    try:
        version = Version(raw_version)
    except InvalidVersion:
        raise DiscoveryError(
            f"{pyproject}: [project].version {raw_version!r} is not a PEP 440 version"
        ) from None
    tool = data.get("tool")
    monorepo = tool.get("monorepo") if isinstance(tool, dict) else None
    status = monorepo.get("status") if isinstance(monorepo, dict) else None
    if not isinstance(status, str) or status not in STATUSES:
        raise DiscoveryError(
            f"{pyproject}: [tool.monorepo].status must be one of {', '.join(STATUSES)}, "
            f"got {status!r}"
        )
    requirements: list[Requirement] = []
    for raw in project.get("dependencies", []) or []:
        try:
            requirements.append(Requirement(str(raw)))
        except InvalidRequirement as exc:
            raise DiscoveryError(f"{pyproject}: dependency {raw!r}: {exc}") from None
    return MonorepoPackage(
        name=project["name"],
        directory=pyproject.parent,
        pyproject=pyproject,
        base_version=version,
        status=status,
        requirements=tuple(requirements),
    )


def discover(root: Path) -> list[MonorepoPackage]:
    """Every package under ``root/packages``, with its internal dependencies resolved."""
    found = [load_package(p) for p in sorted((root / "packages").glob("*/pyproject.toml"))]
    names = {p.key for p in found}
    return [
        MonorepoPackage(
            name=p.name,
            directory=p.directory,
            pyproject=p.pyproject,
            base_version=p.base_version,
            status=p.status,
            requirements=p.requirements,
            internal_deps=tuple(
                sorted({normalize(r.name) for r in p.requirements if normalize(r.name) in names})
            ),
        )
        for p in found
    ]

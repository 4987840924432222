"""Discover the monorepo's packages: `packages/*/pyproject.toml` and their status."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

from snapshot_publisher.errors import PublishError

STATUSES = ("internal", "incubator", "supported", "stable")


class DiscoveryError(PublishError):
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
    # [project.optional-dependencies]: extra name -> requirements (published metadata too).
    optional_requirements: tuple[tuple[str, tuple[Requirement, ...]], ...] = field(default=())

    @property
    def key(self) -> str:
        return normalize(self.name)

    @property
    def publishable(self) -> bool:
        return self.status != "internal"

    def all_requirements(self) -> tuple[Requirement, ...]:
        """Runtime and optional requirements: everything that ends up in Requires-Dist."""
        extra = tuple(r for _, group in self.optional_requirements for r in group)
        return self.requirements + extra


def _read(pyproject: Path) -> dict[str, object]:
    try:
        with pyproject.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise DiscoveryError(f"{pyproject}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise DiscoveryError(f"{pyproject}: cannot be read: {exc.strerror}") from exc


def _requirements(pyproject: Path, where: str, raw_list: object) -> tuple[Requirement, ...]:
    if raw_list is None:
        return ()
    if not isinstance(raw_list, list):
        raise DiscoveryError(f"{pyproject}: {where} must be a list of strings")
    found: list[Requirement] = []
    for raw in raw_list:
        if not isinstance(raw, str):
            raise DiscoveryError(f"{pyproject}: {where}: {raw!r} is not a string")
        try:
            found.append(Requirement(raw))
        except InvalidRequirement as exc:
            raise DiscoveryError(f"{pyproject}: dependency {raw!r}: {exc}") from None
    return tuple(found)


def read_status(pyproject: Path, data: dict[str, object]) -> str:
    """`[tool.monorepo].status`, validated; errors name the file."""
    tool = data.get("tool")
    monorepo = tool.get("monorepo") if isinstance(tool, dict) else None
    if not isinstance(monorepo, dict) or "status" not in monorepo:
        raise DiscoveryError(
            f"{pyproject}: [tool.monorepo].status is missing (one of {', '.join(STATUSES)})"
        )
    status = monorepo["status"]
    if not isinstance(status, str):
        raise DiscoveryError(
            f"{pyproject}: [tool.monorepo].status must be a string, one of "
            f"{', '.join(STATUSES)}; got {type(status).__name__} {status!r}"
        )
    if status not in STATUSES:
        raise DiscoveryError(
            f"{pyproject}: [tool.monorepo].status must be one of {', '.join(STATUSES)}, "
            f"got {status!r}"
        )
    return status


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
    status = read_status(pyproject, data)
    requirements = _requirements(pyproject, "[project].dependencies", project.get("dependencies"))
    optional = project.get("optional-dependencies") or {}
    if not isinstance(optional, dict):
        raise DiscoveryError(f"{pyproject}: [project.optional-dependencies] must be a table")
    groups = tuple(
        (str(extra), _requirements(pyproject, f"[project.optional-dependencies].{extra}", raw))
        for extra, raw in sorted(optional.items())
    )
    return MonorepoPackage(
        name=project["name"],
        directory=pyproject.parent,
        pyproject=pyproject,
        base_version=version,
        status=status,
        requirements=requirements,
        optional_requirements=groups,
    )


def local_path_of(requirement: Requirement, base: Path) -> Path | None:
    """The local directory or file a requirement's URL points at, or None for a remote one.

    Understands `file://` URLs and the `${PROJECT_ROOT}` placeholder PDM writes.
    """
    url = requirement.url
    if url is None:
        return None
    url = url.replace("${PROJECT_ROOT}", base.as_posix())
    parts = urlsplit(url)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if parts.scheme == "" and not parts.netloc:
        return base / unquote(parts.path)
    return None


def internal_key(requirement: Requirement, package_dir: Path, by_dir: dict[Path, str]) -> str:
    """The monorepo package a requirement refers to, by name or by local path; else ''."""
    path = local_path_of(requirement, package_dir)
    if path is not None:
        try:
            resolved = path.resolve()
        except OSError:
            return ""
        return by_dir.get(resolved, "")
    return ""


def discover(root: Path) -> list[MonorepoPackage]:
    """Every package under ``root/packages``, with its internal dependencies resolved."""
    found = [load_package(p) for p in sorted((root / "packages").glob("*/pyproject.toml"))]
    names = {p.key for p in found}
    by_dir = {p.directory.resolve(): p.key for p in found}
    result = []
    for p in found:
        deps: set[str] = set()
        for requirement in p.all_requirements():
            if normalize(requirement.name) in names:
                deps.add(normalize(requirement.name))
            elif key := internal_key(requirement, p.directory, by_dir):
                deps.add(key)
        deps.discard(p.key)
        result.append(
            MonorepoPackage(
                name=p.name,
                directory=p.directory,
                pyproject=p.pyproject,
                base_version=p.base_version,
                status=p.status,
                requirements=p.requirements,
                internal_deps=tuple(sorted(deps)),
                optional_requirements=p.optional_requirements,
            )
        )
    return result

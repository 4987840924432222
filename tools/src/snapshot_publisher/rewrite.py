"""Rewrite a package for its snapshot, in a temporary copy: the tree is never touched.

The copy's pyproject.toml gets the snapshot version, and every internal requirement
(found by normalised name, or by a local path / file:// URL that points at a monorepo
package) becomes `name[extras]==<snapshot>; marker`. Any other local path requirement is
an error. Checkout-only tables that hold local paths (`[tool.uv.sources]`,
`[dependency-groups]`, `[tool.pdm.dev-dependencies]`) lose those entries, so no dev-only
path ends up in the sdist. Formatting and comments are kept (tomlkit).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import tomlkit
from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import Version

from snapshot_publisher.discover import MonorepoPackage, internal_key, local_path_of, normalize
from snapshot_publisher.errors import LocalPathDependencyError, PlanError

# Never copied into the build tree: caches, environments and earlier build output.
IGNORED_NAMES = (
    ".git",
    ".venv",
    "venv",
    "dist",
    "build",
    "__pycache__",
    "*.pyc",
    "*.egg-info",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    ".tox",
    ".nox",
    ".pdm-build",
    "node_modules",
)


@dataclass(frozen=True)
class Change:
    where: str  # e.g. "[project].dependencies"
    before: str
    after: str  # "" when the entry was removed

    def __str__(self) -> str:
        if not self.after:
            return f"{self.where}: removed {self.before!r}"
        return f"{self.where}: {self.before!r} -> {self.after!r}"


@dataclass(frozen=True)
class Rewritten:
    text: str
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class Internal:
    """What the rewrite needs to know about the monorepo: names, directories, versions."""

    versions: Mapping[str, Version]  # normalised name -> snapshot version
    names: Mapping[str, str]  # normalised name -> the package's own spelling
    by_dir: Mapping[Path, str]  # resolved package directory -> normalised name


def pinned(requirement: Requirement, name: str, version: Version) -> str:
    """`name[extras]==version; marker` for an internal requirement."""
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    marker = f"; {requirement.marker}" if requirement.marker is not None else ""
    return f"{name}{extras}=={version}{marker}"


def _is_local(raw: str, base: Path) -> bool:
    text = raw.strip()
    if text.startswith("-e") or "file:" in text or "${PROJECT_ROOT}" in text:
        return True
    try:
        return local_path_of(Requirement(text), base) is not None
    except InvalidRequirement:
        return text.startswith((".", "/"))


def _rewrite_requirement(
    raw: str, *, pyproject: Path, internal: Internal, package_dir: Path
) -> str | None:
    """The pinned form of an internal requirement, None for an external one."""
    try:
        requirement = Requirement(raw)
    except InvalidRequirement as exc:
        raise PlanError(f"{pyproject}: dependency {raw!r}: {exc}") from None
    key = normalize(requirement.name)
    by_path = internal_key(requirement, package_dir, dict(internal.by_dir))
    if requirement.url is not None and local_path_of(requirement, package_dir) is not None:
        if not by_path:
            raise LocalPathDependencyError(
                f"{pyproject}: dependency {raw!r} is a local path outside the monorepo's "
                "packages; publish it to an index and depend on it by name and version"
            )
        if by_path != key:
            raise PlanError(
                f"{pyproject}: dependency {raw!r} is named {requirement.name!r} but points "
                f"at the monorepo package {internal.names[by_path]!r}; use the plain name"
            )
    if key not in internal.versions:
        return None
    version = internal.versions[key]
    if requirement.url is None and requirement.specifier:
        base = Version(version.base_version)
        if not requirement.specifier.contains(base, prereleases=True):
            raise PlanError(
                f"{pyproject}: dependency {raw!r} excludes {internal.names[key]} {base}, "
                "the version in the monorepo; widen or drop the specifier"
            )
    return pinned(requirement, internal.names[key], version)


def _rewrite_array(
    array: Any, where: str, *, pyproject: Path, internal: Internal, package_dir: Path
) -> list[Change]:
    changes: list[Change] = []
    for index, raw in enumerate(list(array)):
        if not isinstance(raw, str):
            raise PlanError(f"{pyproject}: {where}: {raw!r} is not a string")
        new = _rewrite_requirement(
            str(raw), pyproject=pyproject, internal=internal, package_dir=package_dir
        )
        if new is not None and new != str(raw):
            array[index] = new
            changes.append(Change(where, str(raw), new))
    return changes


def _drop_local_entries(array: Any, where: str, package_dir: Path) -> list[Change]:
    changes: list[Change] = []
    for raw in list(array):
        if isinstance(raw, str) and _is_local(raw, package_dir):
            array.remove(raw)
            changes.append(Change(where, str(raw), ""))
    return changes


SOURCE_URL_LABEL = "Snapshot source"


def rewrite_pyproject(
    text: str, *, pyproject: Path, version: Version, internal: Internal, source_url: str = ""
) -> Rewritten:
    """The snapshot form of one package's pyproject.toml text.

    ``source_url`` (the commit's page, when the repository's URL is known) becomes a
    `[project.urls]` entry, so the commit can be traced from the published metadata.
    """
    package_dir = pyproject.parent
    try:
        doc = tomlkit.parse(text)
    except Exception as exc:  # tomlkit raises several unrelated types
        raise PlanError(f"{pyproject}: not valid TOML: {exc}") from None
    project = doc.get("project")
    if not isinstance(project, dict):
        raise PlanError(f"{pyproject}: [project] table is missing")
    changes = [Change("[project].version", str(project.get("version")), str(version))]
    project["version"] = str(version)
    if source_url:
        changes.append(_set_source_url(project, source_url, pyproject))
    rewrite = partial(
        _rewrite_array, pyproject=pyproject, internal=internal, package_dir=package_dir
    )
    if "dependencies" in project:
        changes += rewrite(project["dependencies"], "[project].dependencies")
    optional = project.get("optional-dependencies")
    if isinstance(optional, dict):
        for extra, array in optional.items():
            changes += rewrite(array, f"[project.optional-dependencies].{extra}")
    tool = doc.get("tool")
    if isinstance(tool, dict):
        changes += _drop_uv_sources(tool.get("uv"))
        changes += _drop_pdm_dev_paths(tool.get("pdm"), package_dir)
    groups = doc.get("dependency-groups")
    if isinstance(groups, dict):
        for group, array in groups.items():
            changes += _drop_local_entries(array, f"[dependency-groups].{group}", package_dir)
    return Rewritten(tomlkit.dumps(doc), tuple(changes))


def _set_source_url(project: Any, source_url: str, pyproject: Path) -> Change:
    urls = project.get("urls")
    if urls is None:
        urls = tomlkit.table()
        project["urls"] = urls
    if not isinstance(urls, dict):
        raise PlanError(f"{pyproject}: [project.urls] must be a table")
    before = str(urls.get(SOURCE_URL_LABEL, ""))
    urls[SOURCE_URL_LABEL] = source_url
    return Change(f"[project.urls].{SOURCE_URL_LABEL!r}", before, source_url)


def _drop_uv_sources(uv: Any) -> list[Change]:
    """Checkout-only entries of ``[tool.uv]``: path and workspace sources, the workspace."""
    if not isinstance(uv, dict):
        return []
    changes = []
    sources = uv.get("sources")
    if isinstance(sources, dict):
        for name, spec in list(sources.items()):
            if isinstance(spec, dict) and ({"path", "workspace"} & set(spec)):
                del sources[name]
                changes.append(Change("[tool.uv.sources]", f"{name} = {spec}", ""))
        if not sources:
            del uv["sources"]
    if "workspace" in uv:
        del uv["workspace"]
        changes.append(Change("[tool.uv]", "workspace", ""))
    return changes


def _drop_pdm_dev_paths(pdm: Any, package_dir: Path) -> list[Change]:
    dev = pdm.get("dev-dependencies") if isinstance(pdm, dict) else None
    if not isinstance(dev, dict):
        return []
    changes = []
    for group, array in dev.items():
        where = f"[tool.pdm.dev-dependencies].{group}"
        changes += _drop_local_entries(array, where, package_dir)
    return changes


def internal_for(packages: list[MonorepoPackage], versions: Mapping[str, Version]) -> Internal:
    return Internal(
        versions=dict(versions),
        names={p.key: p.name for p in packages},
        by_dir={p.directory.resolve(): p.key for p in packages},
    )


def plan_rewrite(
    package: MonorepoPackage, version: Version, internal: Internal, source_url: str = ""
) -> Rewritten:
    """The rewrite of one package, computed without writing anything."""
    try:
        text = package.pyproject.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanError(f"{package.pyproject}: cannot be read: {exc.strerror}") from None
    return rewrite_pyproject(
        text,
        pyproject=package.pyproject,
        version=version,
        internal=internal,
        source_url=source_url,
    )


def copy_context(root: Path, dest: Path) -> Path:
    """Copy the repository's tracked files outside packages/ to ``dest``.

    Build hooks may read files next to the packages (registry-core bundles ../../registry);
    the copy keeps those relative paths working while nothing of the tree is built in place.
    Outside a git checkout every top-level entry but packages/ and caches is copied.
    """
    dest.mkdir(parents=True, exist_ok=True)
    listed = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z", "--cached"],
        capture_output=True,
        check=False,
    )
    if listed.returncode == 0:
        for raw in listed.stdout.split(b"\0"):
            relative = raw.decode("utf-8", "surrogateescape")
            if not relative or relative.startswith("packages/"):
                continue
            source = root / relative
            if source.is_file():
                target = dest / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target, follow_symlinks=False)
        return dest
    ignore = shutil.ignore_patterns(*IGNORED_NAMES)
    for entry in root.iterdir():
        if entry.name == "packages" or ignore(str(root), [entry.name]):
            continue
        if entry.is_dir():
            shutil.copytree(entry, dest / entry.name, ignore=ignore, symlinks=True)
        else:
            shutil.copy2(entry, dest / entry.name, follow_symlinks=False)
    return dest


def write_copy(package: MonorepoPackage, rewritten: Rewritten, tree: Path, root: Path) -> Path:
    """Copy the package's folder into ``tree`` (same relative path as under ``root``)
    and write the rewritten pyproject.toml there."""
    try:
        relative = package.directory.resolve().relative_to(root.resolve())
    except ValueError:
        relative = Path("packages") / package.directory.name
    target = tree / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(
        package.directory, target, ignore=shutil.ignore_patterns(*IGNORED_NAMES), symlinks=True
    )
    (target / "pyproject.toml").write_text(rewritten.text, encoding="utf-8")
    return target

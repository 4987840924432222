"""The publish plan: which packages, in which order, at which versions, with which rewrites.

Computing the plan reads the tree and writes nothing; `--dry-run` prints it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version

from snapshot_publisher.discover import MonorepoPackage, discover
from snapshot_publisher.errors import PlanError
from snapshot_publisher.graph import topological_order
from snapshot_publisher.rewrite import Rewritten, internal_for, plan_rewrite
from snapshot_publisher.versioning import SnapshotId, snapshot_version


@dataclass(frozen=True)
class PlannedPackage:
    package: MonorepoPackage
    version: Version
    rewrite: Rewritten

    @property
    def name(self) -> str:
        return self.package.name

    @property
    def key(self) -> str:
        return self.package.key


@dataclass(frozen=True)
class Plan:
    root: Path
    snapshot: SnapshotId
    packages: tuple[PlannedPackage, ...]  # in upload order: dependencies first
    skipped: tuple[MonorepoPackage, ...]  # status internal: never published

    @property
    def order(self) -> list[str]:
        return [p.name for p in self.packages]

    def versions(self) -> Mapping[str, Version]:
        return {p.key: p.version for p in self.packages}

    def describe(self) -> list[str]:
        """The plan as lines of text, as `--dry-run` prints it."""
        lines = [
            f"snapshot id {self.snapshot.value} (from {self.snapshot.source})",
            f"upload order: {' -> '.join(self.order) if self.order else '(nothing)'}",
        ]
        for planned in self.packages:
            pkg = planned.package
            deps = ", ".join(pkg.internal_deps) or "none"
            lines.append(
                f"{pkg.name} {pkg.base_version} -> {planned.version} "
                f"[{pkg.status}] internal deps: {deps}"
            )
            lines.extend(f"    {change}" for change in planned.rewrite.changes[1:])
        lines.extend(f"{pkg.name}: status internal, not published" for pkg in self.skipped)
        return lines


def source_url(root: Path, env: Mapping[str, str]) -> str:
    """The web page of the commit being published, when the repository's URL is known.

    GitLab CI: `CI_PROJECT_URL/-/tree/<sha>`; GitHub Actions:
    `GITHUB_SERVER_URL/GITHUB_REPOSITORY/tree/<sha>`; else MONOREPO_SOURCE_URL with `{sha}`.
    """
    done = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    )
    sha = done.stdout.strip() if done.returncode == 0 else ""
    sha = sha or env.get("CI_COMMIT_SHA", "") or env.get("GITHUB_SHA", "")
    if not sha:
        return ""
    if template := env.get("MONOREPO_SOURCE_URL", "").strip():
        return template.replace("{sha}", sha)
    if project := env.get("CI_PROJECT_URL", "").strip().rstrip("/"):
        return f"{project}/-/tree/{sha}"
    server, repository = env.get("GITHUB_SERVER_URL", ""), env.get("GITHUB_REPOSITORY", "")
    if server and repository:
        return f"{server.rstrip('/')}/{repository}/tree/{sha}"
    return ""


def make_plan(root: Path, snapshot: SnapshotId, env: Mapping[str, str] | None = None) -> Plan:
    """Discover, validate and order the publishable packages; compute every rewrite."""
    packages = discover(root)
    if not packages:
        raise PlanError(f"{root / 'packages'}: no packages/*/pyproject.toml found")
    by_key = {p.key: p for p in packages}
    publishable = [p for p in packages if p.publishable]
    for package in publishable:
        for dep in package.internal_deps:
            if not by_key[dep].publishable:
                raise PlanError(
                    f"{package.pyproject}: {package.name} is published but depends on "
                    f"{by_key[dep].name}, whose status is internal ({by_key[dep].pyproject}); "
                    f"publish {by_key[dep].name} too or drop the dependency"
                )
    versions = {
        p.key: snapshot_version(p.base_version, snapshot.value, p.pyproject) for p in publishable
    }
    internal = internal_for(packages, versions)
    order = topological_order({p.key: set(p.internal_deps) for p in publishable})
    url = source_url(root, env) if env is not None else ""
    planned = tuple(
        PlannedPackage(
            by_key[key],
            versions[key],
            plan_rewrite(by_key[key], versions[key], internal, url),
        )
        for key in order
    )
    skipped = tuple(p for p in packages if not p.publishable)
    return Plan(root=root, snapshot=snapshot, packages=planned, skipped=skipped)

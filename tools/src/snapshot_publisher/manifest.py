"""Traceability: `snapshot-manifest.json` and `constraints-<id>.txt` next to the dists.

The manifest says which commit a snapshot was built from and what each file's sha256 is.
The constraints file lets consumers install with `--require-hashes`, the defence against
dependency confusion (a public package with one of our names, e.g. `reporter`).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snapshot_publisher.plan import Plan
from snapshot_publisher.verify import VerifiedFile

MANIFEST_NAME = "snapshot-manifest.json"


@dataclass(frozen=True)
class Commit:
    sha: str  # "" when unknown
    dirty: bool  # packages/ differs from the commit


def current_commit(root: Path, env: Mapping[str, str]) -> Commit:
    """HEAD of the checkout, else the CI's commit variable."""

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
        )

    head = git("rev-parse", "HEAD")
    if head.returncode == 0 and head.stdout.strip():
        status = git("status", "--porcelain", "--", "packages")
        return Commit(head.stdout.strip(), bool(status.stdout.strip()))
    return Commit(env.get("CI_COMMIT_SHA") or env.get("GITHUB_SHA") or "", False)


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def manifest_data(
    plan: Plan, files: list[VerifiedFile], commit: Commit, target_url: str = ""
) -> dict[str, Any]:
    packages = []
    for planned in plan.packages:
        packages.append(
            {
                "name": planned.name,
                "version": str(planned.version),
                "base_version": str(planned.package.base_version),
                "status": planned.package.status,
                "internal_dependencies": list(planned.package.internal_deps),
                "files": [
                    {"filename": f.filename, "sha256": f.sha256, "size": f.size}
                    for f in files
                    if f.package == planned.key
                ],
            }
        )
    data: dict[str, Any] = {
        "snapshot_id": plan.snapshot.value,
        "snapshot_id_source": plan.snapshot.source,
        "git_commit": commit.sha,
        "git_dirty": commit.dirty,
        "upload_order": plan.order,
        "packages": packages,
        "not_published": [p.name for p in plan.skipped],
    }
    if target_url:
        data["registry"] = target_url
    return data


def constraints_text(plan: Plan, files: list[VerifiedFile], commit: Commit) -> str:
    lines = [
        f"# apiary snapshot {plan.snapshot.value} (commit {commit.sha or 'unknown'}).",
        "# pip install --require-hashes -c this-file ...: each name below installs only",
        "# from a file with one of these sha256, whichever index serves it.",
    ]
    for planned in plan.packages:
        hashes = [f.sha256 for f in files if f.package == planned.key]
        lines.append(f"{planned.name}=={planned.version} \\")
        lines.extend(
            f"    --hash=sha256:{digest}" + (" \\" if i < len(hashes) - 1 else "")
            for i, digest in enumerate(hashes)
        )
    return "\n".join(lines) + "\n"


def write_traceability(
    out_dir: Path,
    plan: Plan,
    files: list[VerifiedFile],
    commit: Commit,
    target_url: str = "",
) -> tuple[Path, Path]:
    manifest = out_dir / MANIFEST_NAME
    constraints = out_dir / f"constraints-{plan.snapshot.value}.txt"
    data = manifest_data(plan, files, commit, target_url)
    atomic_write(manifest, json.dumps(data, indent=2) + "\n")
    atomic_write(constraints, constraints_text(plan, files, commit))
    return manifest, constraints


def record_publication(
    manifest: Path, registry: str, uploaded: list[str], skipped: list[str]
) -> None:
    """Add the outcome of a completed publish to the manifest: every file is in the registry."""
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["published"] = {"registry": registry, "uploaded": uploaded, "already_there": skipped}
    atomic_write(manifest, json.dumps(data, indent=2) + "\n")

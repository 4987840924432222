"""The whole publish, as functions: plan, build, verify, record, upload."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from snapshot_publisher.building import Built, build_all
from snapshot_publisher.credentials import Scrubber, Target
from snapshot_publisher.manifest import current_commit, record_publication, write_traceability
from snapshot_publisher.plan import Plan
from snapshot_publisher.upload import PublishReport, publish_files
from snapshot_publisher.verify import VerifiedFile, verify


@dataclass(frozen=True)
class BuildResult:
    plan: Plan
    built: list[Built]
    files: list[VerifiedFile]
    out_dir: Path
    manifest: Path
    constraints: Path


def build_and_verify(
    plan: Plan,
    out_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    jobs: int | None = None,
    echo: Callable[[str], None] = print,
    target_url: str = "",
    python: str = sys.executable,
) -> BuildResult:
    """Build every planned package into ``out_dir`` and verify the set; uploads nothing."""
    base_env = dict(os.environ if env is None else env)
    out_dir = out_dir.resolve()
    stems = tuple(f"{p.key.replace('-', '_')}-" for p in plan.packages)
    for path in out_dir.glob("*"):  # only this snapshot's files may sit next to its manifest
        if path.name.startswith(stems) and path.name.endswith((".whl", ".tar.gz")):
            path.unlink()
    work = Path(tempfile.mkdtemp(prefix="apiary-publish-"))
    try:
        echo(f"building {len(plan.packages)} packages in {work}")
        built = build_all(plan, work=work, out_dir=out_dir, env=base_env, jobs=jobs, python=python)
        for item in built:
            echo(f"built   {item.sdist.name} {item.wheel.name}")
        files = verify(plan, built, env=base_env)
        echo(f"verified {len(files)} files: metadata, pins, secrets, twine check, install")
    except BaseException:
        echo(f"build logs kept in {work / 'logs'}")
        raise
    else:
        shutil.rmtree(work, ignore_errors=True)
    commit = current_commit(plan.root, base_env)
    manifest, constraints = write_traceability(out_dir, plan, files, commit, target_url)
    return BuildResult(plan, built, files, out_dir, manifest, constraints)


def publish(
    result: BuildResult,
    target: Target,
    *,
    env: Mapping[str, str] | None = None,
    echo: Callable[[str], None] = print,
) -> PublishReport:
    """Upload exactly the verified files of ``result`` to ``target``."""
    base_env = dict(os.environ if env is None else env)
    scrub = Scrubber.from_env(base_env, [target.password])
    report = publish_files(result.files, target, env=base_env, scrub=scrub, echo=echo)
    record_publication(result.manifest, target.upload_url, report.uploaded, report.skipped)
    return report

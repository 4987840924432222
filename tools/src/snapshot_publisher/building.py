"""Build the sdist and wheel of every planned package, in parallel, without credentials.

Each package is built by `python -m build` (the wheel from the sdist, so a file missing
from the sdist fails here, not for a user), with uv as the installer when it is found
(``runner_core.tooling.find_uv``).
The build's environment holds no credential at all: build backends are third-party code.
Builds are reproducible: SOURCE_DATE_EPOCH is the commit's time, and the sdist's gzip
header carries it too, so the same commit and snapshot id give the same bytes, which is
what lets a re-run recognise files it already uploaded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from runner_core.tooling import find_uv

from snapshot_publisher.credentials import without_secrets
from snapshot_publisher.errors import BuildError
from snapshot_publisher.plan import Plan, PlannedPackage
from snapshot_publisher.rewrite import copy_context, write_copy

# 1980-01-01, the earliest time a zip file can hold: used outside a git checkout.
FALLBACK_EPOCH = 315532800
BUILD_TIMEOUT = 900.0
# The uv scripts/bootstrap.sh installs when there is none: where find_uv looks last.
BOOTSTRAP_UV = Path(".tools/uv/bin/uv")


@dataclass(frozen=True)
class Built:
    key: str
    name: str
    sdist: Path
    wheel: Path
    log: Path

    @property
    def files(self) -> tuple[Path, Path]:
        return (self.sdist, self.wheel)


def source_date_epoch(root: Path, env: Mapping[str, str]) -> int:
    """SOURCE_DATE_EPOCH if set, else the time of the checked-out commit."""
    raw = env.get("SOURCE_DATE_EPOCH", "").strip()
    if raw.isdigit():
        return max(int(raw), FALLBACK_EPOCH)
    done = subprocess.run(
        ["git", "-C", str(root), "log", "-1", "--format=%ct"],
        capture_output=True,
        text=True,
        check=False,
    )
    text = done.stdout.strip()
    if done.returncode != 0 or not text.isdigit():
        return FALLBACK_EPOCH
    return max(int(text), FALLBACK_EPOCH)


def build_environment(env: Mapping[str, str], uv: str | None, epoch: int) -> dict[str, str]:
    """The environment every build runs in: no credential, reproducible timestamps."""
    clean = without_secrets(env)
    clean["SOURCE_DATE_EPOCH"] = str(epoch)
    clean["PYTHONDONTWRITEBYTECODE"] = "1"
    if uv:
        # build finds uv on PATH when the `uv` module is absent from its interpreter.
        clean["PATH"] = os.pathsep.join([str(Path(uv).parent), clean.get("PATH", os.defpath)])
    return clean


def normalise_sdist_timestamp(sdist: Path, epoch: int) -> None:
    """Set the gzip header's MTIME (bytes 4-8) to ``epoch``; the compressed data is unchanged.

    tarfile stamps the header with the current time, the one byte range that keeps two
    builds of the same source from being identical.
    """
    with sdist.open("r+b") as handle:
        header = handle.read(10)
        if header[:3] != b"\x1f\x8b\x08":
            raise BuildError(f"{sdist}: not a gzip file")
        handle.seek(4)
        handle.write(epoch.to_bytes(4, "little"))


def build_one(
    planned: PlannedPackage,
    *,
    root: Path,
    work: Path,
    out_dir: Path,
    env: Mapping[str, str],
    python: str,
    uv: str | None,
    epoch: int,
) -> Built:
    source = write_copy(planned.package, planned.rewrite, work / "tree", root)
    staging = work / "out" / planned.key
    staging.mkdir(parents=True)
    log = work / "logs" / f"{planned.key}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [python, "-m", "build", "--outdir", str(staging)]
    if uv:
        command += ["--installer", "uv"]
    command.append(str(source))
    try:
        with log.open("w", encoding="utf-8") as handle:
            done = subprocess.run(
                command,
                stdout=handle,
                stderr=subprocess.STDOUT,
                env=dict(env),
                cwd=source,
                timeout=BUILD_TIMEOUT,
                check=False,
            )
    except subprocess.TimeoutExpired:
        raise BuildError(
            f"{planned.name}: python -m build took over {BUILD_TIMEOUT:.0f}s; log: {log}"
        ) from None
    if done.returncode != 0:
        lines = [x for x in log.read_text(encoding="utf-8", errors="replace").splitlines() if x]
        last = lines[-1].strip() if lines else "no output"
        raise BuildError(
            f"{planned.name}: python -m build failed (exit {done.returncode}): {last} "
            f"(full log: {log})"
        )
    sdists = sorted(staging.glob("*.tar.gz"))
    wheels = sorted(staging.glob("*.whl"))
    if len(sdists) != 1 or len(wheels) != 1:
        found = ", ".join(p.name for p in staging.iterdir()) or "nothing"
        raise BuildError(f"{planned.name}: expected one sdist and one wheel, got {found}")
    normalise_sdist_timestamp(sdists[0], epoch)
    sdist = out_dir / sdists[0].name
    wheel = out_dir / wheels[0].name
    for made, final in ((sdists[0], sdist), (wheels[0], wheel)):
        if final.exists():
            final.unlink()
        shutil.move(made, final)
    return Built(planned.key, planned.name, sdist, wheel, log)


def build_all(
    plan: Plan,
    *,
    work: Path,
    out_dir: Path,
    env: Mapping[str, str] | None = None,
    python: str = sys.executable,
    jobs: int | None = None,
) -> list[Built]:
    """Build every planned package into ``out_dir``; returns them in upload order."""
    base_env = dict(os.environ if env is None else env)
    uv = find_uv(base_env, fallbacks=(plan.root / BOOTSTRAP_UV,))
    epoch = source_date_epoch(plan.root, base_env)
    build_env = build_environment(base_env, uv, epoch)
    out_dir.mkdir(parents=True, exist_ok=True)
    copy_context(plan.root, work / "tree")
    workers = max(1, min(len(plan.packages), jobs or os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(
                build_one,
                planned,
                root=plan.root,
                work=work,
                out_dir=out_dir,
                env=build_env,
                python=python,
                uv=uv,
                epoch=epoch,
            )
            for planned in plan.packages
        ]
        return [future.result() for future in futures]

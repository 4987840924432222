"""Snapshot ids and snapshot versions: `<base_release>.dev<snapshot_id>`."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from snapshot_publisher.errors import PlanError, SnapshotIdError


@dataclass(frozen=True)
class SnapshotId:
    value: int
    source: str  # where it came from, e.g. "MONOREPO_SNAPSHOT_ID" or "time"
    ignored: tuple[str, ...] = ()  # variables set but not numeric, for a warning


def _numeric(raw: str | None) -> int | None:
    if raw is None:
        return None
    raw = raw.strip()
    return int(raw) if raw.isascii() and raw.isdigit() else None


def snapshot_id(env: Mapping[str, str], clock: Callable[[], float] = time.time) -> SnapshotId:
    """The snapshot id, by priority: MONOREPO_SNAPSHOT_ID, GitHub Actions, GitLab CI, time.

    Variables that are set but not numeric are skipped and reported in ``ignored``.
    """
    ignored: list[str] = []

    def note(name: str) -> int | None:
        raw = env.get(name)
        value = _numeric(raw)
        if raw is not None and raw.strip() and value is None:
            ignored.append(name)
        return value

    explicit = note("MONOREPO_SNAPSHOT_ID")
    if explicit is not None:
        return SnapshotId(explicit, "MONOREPO_SNAPSHOT_ID", tuple(ignored))
    run_id = note("GITHUB_RUN_ID")
    if run_id is not None:
        attempt_raw = env.get("GITHUB_RUN_ATTEMPT", "").strip()
        attempt = _numeric(attempt_raw) if attempt_raw else 1
        if attempt is None or not 1 <= attempt <= 99:
            raise SnapshotIdError(
                f"GITHUB_RUN_ATTEMPT={attempt_raw!r} must be a number from 1 to 99 "
                "(the snapshot id is GITHUB_RUN_ID * 100 + GITHUB_RUN_ATTEMPT)"
            )
        return SnapshotId(run_id * 100 + attempt, "GITHUB_RUN_ID", tuple(ignored))
    pipeline = note("CI_PIPELINE_ID")
    if pipeline is not None:
        return SnapshotId(pipeline, "CI_PIPELINE_ID", tuple(ignored))
    return SnapshotId(int(clock()), "time", tuple(ignored))


def base_release(version: Version) -> str:
    """The release part of a base version (with its epoch, if any): `1.2.3rc1` -> `1.2.3`."""
    release = ".".join(str(part) for part in version.release)
    return f"{version.epoch}!{release}" if version.epoch else release


def snapshot_version(base: str | Version, snapshot: int, source: Path | str = "") -> Version:
    """`<base_release>.dev<snapshot>`; an invalid base version names ``source``."""
    try:
        parsed = base if isinstance(base, Version) else Version(base)
    except InvalidVersion:
        where = f"{source}: " if source else ""
        raise PlanError(
            f"{where}[project].version {base!r} is not a PEP 440 version "
            "(use a release such as 0.1.0)"
        ) from None
    if parsed.local:
        where = f"{source}: " if source else ""
        raise PlanError(
            f"{where}[project].version {str(parsed)!r} has a local label; "
            "snapshots need a plain release such as 0.1.0"
        )
    return Version(f"{base_release(parsed)}.dev{snapshot}")

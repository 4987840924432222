"""A package's ThreadSanitizer reports, counted per bucket over every iteration.

Reports come from each test run's merged output, where the `log_path` files TSan wrote
into the evidence folder are already included (`runner_core.evidence`). One report of
each bucket is kept as `race-<bucket>.txt` next to the evidence it came from, and the
event carries one `RaceInfo` per bucket with how many reports fell in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from normalized_events import RaceInfo
from normalized_events.files import write_atomic

from runner_core.crash.tsan import TsanReport, parse_tsan
from runner_core.suite import Attempt


def package_races(attempts: Sequence[Attempt], run_dir: Path) -> tuple[list[RaceInfo], list[str]]:
    """(one RaceInfo per bucket, most reported first; problems with the reports)."""
    counts: dict[str, int] = {}
    first: dict[str, tuple[TsanReport, Path | None]] = {}
    problems: list[str] = []
    for number, attempt in enumerate(attempts, 1):
        found = parse_tsan(attempt.output, f"iteration {number}")
        problems += found.problems
        for report in found.reports:
            counts[report.bucket] = counts.get(report.bucket, 0) + 1
            first.setdefault(report.bucket, (report, attempt.evidence_dir))
    races = [
        RaceInfo(
            kind=report.kind,
            signature=report.signature,
            bucket=bucket,
            count=counts[bucket],
            frames=[frame.token for frame in report.frames],
            modules=report.modules,
            log_path=_keep(report, folder, run_dir),
        )
        for bucket, (report, folder) in first.items()
    ]
    races.sort(key=lambda r: (-r.count, r.signature))
    return races, problems


def _keep(report: TsanReport, folder: Path | None, run_dir: Path) -> str | None:
    if folder is None:
        return None
    path = folder / f"race-{report.bucket}.txt"
    try:
        write_atomic(path, report.text + "\n")  # a link the suite left there is replaced
        return str(path.relative_to(run_dir))
    except (OSError, ValueError):
        return None

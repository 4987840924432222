"""One package under all its conditions, with retries when the conditions disagree.

A package whose outcome differs between conditions is run again under every condition
(``condition_retries`` times) before its outcomes are written, so that one flaky test
run is not reported as a regression. Each condition's ``package_finished`` records every
attempt's outcome in ``attempt_outcomes``; the first attempt's details are kept.

The package holds its work-directory lock while it runs; once its outcomes are written,
its folders are measured and the work directory is brought back within its budget
(runner_core.workdir), each eviction logged in ``<work-dir>/evictions.log``.
"""

from __future__ import annotations

import contextlib
import time

from normalized_events import EventWriter, PackageFinished

from runner_core.pipeline import PackageJob, run_package
from runner_core.settings import RunSettings
from runner_core.workdir import enforce_budget, package_in_use, record_footprint


def run_job(job: PackageJob, settings: RunSettings, writer: EventWriter) -> list[PackageFinished]:
    with package_in_use(settings.work, job.entry.package):
        written = _run_and_write(job, settings, writer)
        _keep_within_budget(job.entry.package, settings)
    return written


def _keep_within_budget(package: str, settings: RunSettings) -> None:
    """Never fails the package whose outcomes are written: a budget that could not be
    applied (the work directory unreadable) says why in the log, and applies next time."""
    # A record the disk cannot take is measured again next time.
    with contextlib.suppress(OSError):
        record_footprint(settings.work, package)
    try:
        evicted = enforce_budget(settings.work, settings.work_budget)
    except OSError as exc:
        _log(settings, [f"budget not applied after {package}: {exc}"])
        return
    _log(settings, [f"{e.package}: {e.bytes / 1024**2:.0f} MiB removed ({e.why})" for e in evicted])


def _log(settings: RunSettings, lines: list[str]) -> None:
    if not lines:
        return
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    log_path = settings.work_dir / "evictions.log"
    with contextlib.suppress(OSError), log_path.open("a", encoding="utf-8") as log:
        log.write("".join(f"{stamp} {line}\n" for line in lines))


def _run_and_write(
    job: PackageJob, settings: RunSettings, writer: EventWriter
) -> list[PackageFinished]:
    first = [run_package(job.entry, job.rev, c, settings, writer) for c in job.conditions]
    history = [[result.outcome] for result in first]
    if len(first) > 1 and len({r.outcome for r in first}) > 1:
        for _ in range(settings.condition_retries):
            for index, condition in enumerate(job.conditions):
                again = run_package(job.entry, job.rev, condition, settings, writer)
                history[index].append(again.outcome)
    written: list[PackageFinished] = []
    for result, outcomes in zip(first, history, strict=True):
        final = result
        if len(outcomes) > 1:
            final = result.model_copy(
                update={"attempts": len(outcomes), "attempt_outcomes": list(outcomes)}
            )
        emitted = writer.emit(final)
        assert isinstance(emitted, PackageFinished)
        written.append(emitted)
    return written

"""One package under all its conditions, with retries when the conditions disagree.

A package whose outcome differs between conditions is run again under every condition
(``condition_retries`` times) before its outcomes are written, so that one flaky test
run is not reported as a regression. Each condition's ``package_finished`` records every
attempt's outcome in ``attempt_outcomes``; the first attempt's details are kept.
"""

from __future__ import annotations

from normalized_events import EventWriter, PackageFinished

from runner_core.pipeline import PackageJob, run_package
from runner_core.settings import RunSettings


def run_job(job: PackageJob, settings: RunSettings, writer: EventWriter) -> list[PackageFinished]:
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

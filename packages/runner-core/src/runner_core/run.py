"""A whole run: plan it, record it, run its packages, resume it."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import re
import signal
import socket
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from normalized_events import (
    EventLogError,
    EventWriter,
    HostInfo,
    InterpreterInfo,
    Outcome,
    PackageFinished,
    RegistryInfo,
    RunFinished,
    RunOptions,
    RunStarted,
    read_events,
)
from normalized_events.files import write_atomic
from normalized_events.layout import RunLayout
from normalized_events.runrecord import RunRecord, RunStatus
from registry_core import LoadedRegistry

from runner_core.errors import (
    DiskFullError,
    OptionError,
    ResumeError,
    RunFailedError,
    RunnerError,
    full_disk,
)
from runner_core.interpreter import Interpreter, probe_interpreter
from runner_core.isolation import SandboxCheck, check_sandbox
from runner_core.jobs import run_job
from runner_core.pipeline import PackageJob, condition_python
from runner_core.retry_list import write_retry_list
from runner_core.runlock import run_lock
from runner_core.selection import Invalid, Selected, Selection, Skipped
from runner_core.settings import RunSettings
from runner_core.versions import installed_versions
from runner_core.workers import run_in_workers

OnResult = Callable[[PackageFinished], None]


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


@dataclass
class RunPlan:
    settings: RunSettings
    selection: Selection
    registry_info: RegistryInfo

    def jobs(self, done: set[tuple[str, str]] | None = None) -> list[PackageJob]:
        """A job per package, with the conditions it has not finished yet."""
        finished = done or set()
        jobs = []
        for item in self.selection.run:
            todo = tuple(
                c for c in self.settings.conditions if (item.entry.package, c.name) not in finished
            )
            if todo:
                jobs.append(PackageJob(entry=item.entry, rev=item.rev, conditions=todo))
        return jobs


@dataclass
class RunReport:
    run_dir: Path
    counts: dict[Outcome, int] = field(default_factory=dict)
    interrupted: bool = False
    wall_s: float = 0.0
    # Why the run stopped early on its own (the disk filled up), for the user.
    stopped_by: str | None = None


def registry_info(path: Path, registry: LoadedRegistry) -> RegistryInfo:
    """Where the registry is and a hash of its content (names and file sizes/mtimes)."""
    digest = hashlib.sha256()
    for name in sorted(registry.entries):
        digest.update(registry.entries[name].model_dump_json().encode())
    return RegistryInfo(path=str(path), content_hash=digest.hexdigest()[:16])


def _write_json(path: Path, payload: object) -> None:
    """Atomic: a reader sees the old file or the new one, never half of one."""
    write_atomic(path, json.dumps(payload, indent=2, default=str) + "\n")


def _run_json(
    plan: RunPlan, status: RunStatus, extra: dict[str, object] | None = None
) -> dict[str, object]:
    record = RunRecord.model_validate(
        {
            "run_id": plan.settings.run_id,
            "status": status,
            "settings": json.loads(plan.settings.model_dump_json()),
            "selection": [{"package": s.entry.package, "rev": s.rev} for s in plan.selection.run],
            "skipped": [{"package": s.package, "reason": s.reason} for s in plan.selection.skipped],
            "invalid": [{"package": s.package, "reason": s.reason} for s in plan.selection.invalid],
            **(extra or {}),
        }
    )
    return record.as_json()


_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")
# run.json is a few kilobytes per thousand packages; a larger one is not ours.
_MAX_RUN_JSON = 64 << 20


def check_run_id(run_id: str, option: str = "--run-id") -> str:
    """``run_id`` when it names a folder of the results directory (no path, no dot first)."""
    if not _RUN_ID.match(run_id):
        raise OptionError(
            f"{option} {run_id!r}: a run id is letters, digits and . _ + - (128 at most),"
            " not starting with a dot or a dash"
        )
    return run_id


def load_run_json(results_dir: Path, run_id: str) -> dict[str, object]:
    check_run_id(run_id, "--resume")
    path = RunLayout(results_dir / run_id).run_json
    try:
        if path.stat().st_size > _MAX_RUN_JSON:
            raise ResumeError(f"--resume {run_id}: {path} is too large to be a run.json")
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResumeError(f"--resume {run_id}: no run.json in {path.parent}") from None
    except (OSError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ResumeError(f"--resume {run_id}: {path} is unreadable: {first}") from None
    except RecursionError:
        raise ResumeError(f"--resume {run_id}: {path} is nested too deeply") from None
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise ResumeError(f"--resume {run_id}: {path} holds a JSON {kind}, not a run's record")
    return data


def _records(data: dict[str, object], key: str) -> list[dict[str, object]]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(
        isinstance(v, dict) and isinstance(v.get("package"), str) for v in value
    ):
        raise ResumeError(f"run.json: {key!r} is not a list of package records")
    return value


def recorded_selection(data: dict[str, object], registry: LoadedRegistry) -> Selection:
    """The selection a run recorded in run.json when it began, with today's entries."""
    selection = Selection()
    for item in _records(data, "selection"):
        name, rev = str(item["package"]), item.get("rev")
        entry = registry.entries.get(name)
        if entry is None:
            reason = "no longer in the registry, or its file no longer loads"
            selection.invalid.append(Invalid(name, reason))
        else:
            selection.run.append(Selected(entry, str(rev) if rev else None))
    for item in _records(data, "skipped"):
        selection.skipped.append(Skipped(str(item["package"]), str(item.get("reason"))))
    for item in _records(data, "invalid"):
        selection.invalid.append(Invalid(str(item["package"]), str(item.get("reason"))))
    return selection


def finished_keys(events_path: Path) -> set[tuple[str, str]]:
    """(package, condition) pairs that already have their package_finished."""
    if not events_path.is_file():
        return set()
    return {
        (e.package, e.condition)
        for e in read_events(events_path).known()
        if isinstance(e, PackageFinished)
    }


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def execute(plan: RunPlan, on_result: OnResult | None = None, resumed: bool = False) -> RunReport:
    """Run the plan; safe to call again on the same run directory (resume).

    The run directory is locked for the whole run (RunLockedError when another apiary
    holds it). An unexpected failure never leaves run.json saying "running": it says
    "failed" with the reason, the traceback goes to ``error.log``, and RunFailedError
    carries one line.
    """
    settings = plan.settings
    with run_lock(settings.run_dir, settings.run_id):
        try:
            return _execute(plan, on_result, resumed)
        except Exception as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            with contextlib.suppress(OSError):
                (settings.run_dir / "error.log").write_text(traceback.format_exc())
                _write_json(settings.layout.run_json, _run_json(plan, "failed", {"error": reason}))
            if isinstance(exc, RunnerError):
                raise
            raise RunFailedError(
                f"run {settings.run_id} stopped: {type(exc).__name__}: {reason}"
                f" (details in {settings.run_dir / 'error.log'})"
            ) from exc


@dataclass
class _Tally:
    """The results seen so far: counts crashes for ``--stop-after-crash``, passes each on."""

    stop_after_crash: int | None
    on_result: OnResult | None
    crashes: int = 0

    def note(self, finished: PackageFinished) -> None:
        self.crashes += finished.outcome is Outcome.CRASH
        if self.on_result is not None:
            self.on_result(finished)

    def keep_going(self) -> bool:
        limit = self.stop_after_crash
        return limit is None or self.crashes < limit


def _execute(plan: RunPlan, on_result: OnResult | None, resumed: bool) -> RunReport:
    settings = plan.settings
    run_dir = settings.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    interpreter = probe_interpreter(settings.target_python)
    sandbox = check_sandbox(settings.sandbox_backend)
    layout = settings.layout
    _write_json(layout.run_json, _run_json(plan, "running", {"sandbox": sandbox.as_json()}))
    done = finished_keys(layout.events)
    report = RunReport(run_dir=run_dir)
    tally = _Tally(settings.stop_after_crash, on_result)
    with EventWriter(layout.events, run_id=settings.run_id) as writer, _sigterm_as_interrupt():
        writer.emit(_run_started(plan, interpreter, sandbox, resumed))
        _record_not_run(plan, writer, done, tally)
        _run_jobs(plan.jobs(done), settings, writer, tally, report)
        counts = Counter(
            e.outcome for e in read_events(layout.events).known() if isinstance(e, PackageFinished)
        )
        report.counts = dict(counts)
        report.wall_s = time.monotonic() - started
        with _unless_disk_full(report, run_dir):
            writer.emit(
                RunFinished(
                    run_id=settings.run_id,
                    wall_s=round(report.wall_s, 3),
                    counts=report.counts,
                    interrupted=report.interrupted,
                    stopped_after_crash=not tally.keep_going(),
                )
            )
    with _unless_disk_full(report, run_dir):
        write_retry_list(run_dir, settings.conditions)
    with _unless_disk_full(report, run_dir):
        _write_json(
            layout.run_json,
            _run_json(
                plan,
                "interrupted" if report.interrupted else "finished",
                {"wall_s": round(report.wall_s, 3), "sandbox": sandbox.as_json()},
            ),
        )
    return report


def _run_started(
    plan: RunPlan, interpreter: Interpreter, sandbox: SandboxCheck, resumed: bool
) -> RunStarted:
    settings = plan.settings
    selection = plan.selection
    return RunStarted(
        run_id=settings.run_id,
        apiary_version=installed_versions().get("runner-core") or "unknown",
        interpreter=interpreter.info,
        condition_interpreters=_condition_interpreters(settings, interpreter),
        host=HostInfo(
            hostname=socket.gethostname(),
            platform=platform.platform(),
            cpu_count=os.cpu_count(),
        ),
        registry=plan.registry_info,
        options=RunOptions(
            workers=settings.workers,
            timeout_s=settings.timeout_s,
            idle_timeout_s=settings.idle_timeout_s,
            shard=settings.shard,
            conditions=settings.conditions,
            sandbox_backend=settings.sandbox_backend,
            sandbox_used=sandbox.used,
            sandbox_warning=sandbox.warning,
            network_policy="on" if settings.network_during_tests else "off",
            installer=settings.installer,
        ),
        resumed=resumed,
        selected=sorted(
            {s.entry.package for s in selection.run}
            | {s.package for s in selection.skipped}
            | {s.package for s in selection.invalid}
        ),
    )


def _record_not_run(
    plan: RunPlan, writer: EventWriter, done: set[tuple[str, str]], tally: _Tally
) -> None:
    """Skipped and invalid entries: one package_finished per condition, once."""
    settings = plan.settings
    not_run = [(s.package, s.reason, Outcome.SKIPPED) for s in plan.selection.skipped]
    not_run += [(s.package, s.reason, Outcome.ERROR) for s in plan.selection.invalid]
    for package, reason, outcome in not_run:
        for condition in settings.conditions:
            if (package, condition.name) in done:
                continue
            finished = writer.emit(
                PackageFinished(
                    run_id=settings.run_id,
                    package=package,
                    condition=condition.name,
                    outcome=outcome,
                    reason=reason,
                )
            )
            assert isinstance(finished, PackageFinished)
            tally.note(finished)


def _run_jobs(
    jobs: list[PackageJob],
    settings: RunSettings,
    writer: EventWriter,
    tally: _Tally,
    report: RunReport,
) -> None:
    """The packages themselves, in this process or in workers; an interrupt or a full disk
    ends the loop with the report saying so."""
    try:
        if settings.workers <= 1:
            for job in jobs:
                if not tally.keep_going():
                    break
                for finished in run_job(job, settings, writer):
                    tally.note(finished)
        else:
            for finished in run_in_workers(jobs, settings, writer, tally.keep_going):
                tally.note(finished)
    except KeyboardInterrupt:
        report.interrupted = True
    except (DiskFullError, OSError, EventLogError) as exc:
        stop = full_disk(exc, settings.run_dir)
        if stop is None:
            raise
        report.interrupted = True
        report.stopped_by = str(stop)


def _condition_interpreters(
    settings: RunSettings, interpreter: Interpreter
) -> dict[str, InterpreterInfo]:
    """The facts of each condition's own interpreter, where it is not the run's."""
    found = {}
    for condition in settings.conditions:
        python = condition_python(settings, condition)
        if python != settings.target_python:
            probed = probe_interpreter(python)
            if probed.path != interpreter.path:
                found[condition.name] = probed.info
    return found


@contextmanager
def _unless_disk_full(report: RunReport, run_dir: Path) -> Iterator[None]:
    """Closing records that a full disk cannot take are given up (the run resumes from
    its events); the report says why."""
    try:
        yield
    except (OSError, EventLogError) as exc:
        stop = full_disk(exc, run_dir)
        if stop is None:
            raise
        report.interrupted = True
        report.stopped_by = report.stopped_by or str(stop)

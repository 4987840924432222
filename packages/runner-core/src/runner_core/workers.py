"""Worker processes: each takes package jobs from the runner and runs them.

The runner keeps at most one job per worker outstanding, so it can stop handing out work
at any time (``--stop-after-crash``, Ctrl-C) and knows which job a dead worker held.
Every worker appends its own events to the run's ``events.jsonl``.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.context import ForkContext, SpawnContext
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType
from typing import Any

from normalized_events import Event, EventLogError, EventWriter, Outcome, PackageFinished
from sandbox_runner import die_with_parent

from runner_core.errors import DiskFullError, full_disk
from runner_core.jobs import run_job
from runner_core.pipeline import PackageJob
from runner_core.settings import RunSettings

_POLL_S = 0.5
_LEAVE_S = 5.0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


class _WorkerWriter(EventWriter):
    """A worker's event writer: once apiary itself is gone it writes nothing more, so a
    worker that outlives a kill -9 for a moment never records a result that a resumed
    run has already set out to redo."""

    def __init__(self, path: Path, run_id: str, parent: int) -> None:
        super().__init__(path, run_id=run_id)
        self._parent = parent

    def emit(self, event: Event) -> Event:
        if os.getppid() != self._parent:
            raise KeyboardInterrupt
        return super().emit(event)


def _worker_main(settings_json: str, jobs: Any, results: Any, worker: int) -> None:
    signal.signal(signal.SIGTERM, _interrupt)
    # A kill -9 of apiary leaves no orphaned worker (and so no sandbox) behind.
    die_with_parent()
    settings = RunSettings.model_validate_json(settings_json)
    writer = _WorkerWriter(settings.layout.events, settings.run_id, os.getppid())
    try:
        while True:
            item = jobs.get()
            if item is None:
                # Done: from here a SIGTERM (the runner's clean-up) just ends the process.
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                return
            index, job = item
            results.put(("start", worker, index))
            finished = run_job(job, settings, writer)
            results.put(("done", worker, [f.model_dump_json() for f in finished]))
    except KeyboardInterrupt:
        return
    except (DiskFullError, OSError, EventLogError) as exc:
        stop = full_disk(exc, settings.run_dir)
        if stop is None:
            raise
        results.put(("disk_full", worker, str(stop)))
    finally:
        writer.close()


def _context() -> ForkContext | SpawnContext:
    """How workers start: forked where the platform allows it, so that a worker begins
    as a copy of apiary with the pipeline imported and the target interpreter probed,
    instead of importing and probing it all again (about 0.7 s of CPU each).

    The runner forks before it starts any thread or sandbox of its own, and a forked
    worker leaves by `os._exit`, so the runner's buffered events are never written twice.
    """
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


@dataclass
class _Slot:
    process: BaseProcess
    job: int | None = None


class _Pool:
    """The runner's side of the workers: who holds which job, and what is left to hand out."""

    def __init__(self, jobs: list[PackageJob], settings: RunSettings) -> None:
        self.ctx = _context()
        self.jobs = jobs
        self.settings = settings
        self.job_queue: Any = self.ctx.Queue()
        self.results: Any = self.ctx.Queue()
        self.payload = settings.model_dump_json()
        self.slots: dict[int, _Slot] = {}
        self.next_job = 0
        self.outstanding = 0

    def start(self, worker: int) -> None:
        process = self.ctx.Process(
            target=_worker_main,
            args=(self.payload, self.job_queue, self.results, worker),
            daemon=True,
        )
        process.start()
        self.slots[worker] = _Slot(process)

    def hand_out(self, should_continue: Callable[[], bool]) -> None:
        while (
            self.outstanding < len(self.slots)
            and self.next_job < len(self.jobs)
            and should_continue()
        ):
            self.job_queue.put((self.next_job, self.jobs[self.next_job]))
            self.next_job += 1
            self.outstanding += 1

    def receive(self, writer: EventWriter) -> Iterator[PackageFinished]:
        """One message from the workers (or, after a quiet poll, the jobs of dead ones)."""
        try:
            kind, worker, value = self.results.get(timeout=_POLL_S)
        except queue.Empty:
            for lost in _replace_dead(self.slots, self.jobs, self.settings, writer, self.start):
                self.outstanding -= 1
                yield from lost
            return
        if kind == "start":
            self.slots[worker].job = value
            return
        if kind == "disk_full":
            raise DiskFullError(value)
        self.slots[worker].job = None
        self.outstanding -= 1
        for line in value:
            yield PackageFinished.model_validate_json(line)

    def close(self) -> None:
        for _ in self.slots:
            self.job_queue.put(None)
        # Idle workers take their None and leave; busy ones (an interrupted run) are stopped.
        deadline = time.monotonic() + _LEAVE_S
        processes = [slot.process for slot in self.slots.values()]
        for process in processes:
            process.join(timeout=max(0.0, deadline - time.monotonic()))
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
        self.job_queue.close()
        self.results.close()


def run_in_workers(
    jobs: list[PackageJob],
    settings: RunSettings,
    writer: EventWriter,
    should_continue: Callable[[], bool],
) -> Iterator[PackageFinished]:
    """Run jobs in ``settings.workers`` processes, yielding each package_finished."""
    pool = _Pool(jobs, settings)
    for worker in range(max(1, min(settings.workers, len(jobs)))):
        pool.start(worker)
    try:
        pool.hand_out(should_continue)
        while pool.outstanding:
            yield from pool.receive(writer)
            pool.hand_out(should_continue)
    finally:
        pool.close()


def _replace_dead(
    slots: dict[int, _Slot],
    jobs: list[PackageJob],
    settings: RunSettings,
    writer: EventWriter,
    start: Callable[[int], None],
) -> Iterator[list[PackageFinished]]:
    """A worker that died holding a job: the job is recorded as a harness error."""
    for worker, slot in list(slots.items()):
        if slot.process.is_alive():
            continue
        held = slot.job
        start(worker)
        if held is None:
            continue
        job = jobs[held]
        lost: list[PackageFinished] = []
        for condition in job.conditions:
            finished = writer.emit(
                PackageFinished(
                    run_id=settings.run_id,
                    package=job.entry.package,
                    condition=condition.name,
                    outcome=Outcome.ERROR,
                    reason=f"worker process died (exit {slot.process.exitcode}) while running it",
                )
            )
            assert isinstance(finished, PackageFinished)
            lost.append(finished)
        yield lost

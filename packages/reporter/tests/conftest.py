"""Run directories written event by event with the real EventWriter, the way a run does."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from normalized_events import (
    Condition,
    CrashInfo,
    EventWriter,
    HostInfo,
    InstallFailure,
    InterpreterInfo,
    Outcome,
    PackageFinished,
    PackageStarted,
    RegistryInfo,
    RunFinished,
    RunOptions,
    RunStarted,
    Step,
    StepFinished,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

SEGV_STDERR = """\
Fatal Python error: Segmentation fault

Current thread 0x00007f8193a6eb80 (most recent call first):
  File "/src/pkg/tests/test_x.py", line 7 in test_segv
  File "/venv/lib/python3.13/site-packages/_pytest/python.py", line 187 in pytest_pyfunc_call
\x1b[31mExtension modules: yaml._yaml (total: 1)\x1b[0m
"""


class RunDir:
    """Builds ``<root>/<run_id>/`` with events.jsonl, logs/ and crashes/ files."""

    def __init__(
        self,
        root: Path,
        run_id: str,
        *,
        start: datetime = T0,
        version: str = "3.13.0",
        jit: bool = True,
        shard: str | None = None,
        selection: list[str] | None = None,
        conditions: list[Condition] | None = None,
        started: bool = True,
    ) -> None:
        self.run_id = run_id
        self.path = root / run_id
        self.clock = start
        self.started_at = start
        self.version = version
        self.jit = jit
        self.shard = shard
        self.selection = selection
        self.conditions = conditions or []
        self.writer = EventWriter(self.path / "events.jsonl", run_id)
        self.results: list[PackageFinished] = []
        if started:
            self.start()

    def tick(self, seconds: float = 1.0) -> datetime:
        self.clock += timedelta(seconds=seconds)
        return self.clock

    def start(self) -> None:
        extra: dict[str, Any] = {}
        if self.selection is not None:
            extra["selected"] = self.selection
        options = RunOptions(shard=self.shard, conditions=self.conditions)
        self.writer.emit(
            RunStarted(
                run_id=self.run_id,
                ts=self.clock,
                apiary_version="0.1.0",
                interpreter=InterpreterInfo(
                    path=f"/opt/python/{self.version}/bin/python3",
                    version=self.version,
                    jit_available=True,
                    jit_enabled=self.jit,
                ),
                host=HostInfo(hostname="ci-runner", platform="linux", cpu_count=2),
                registry=RegistryInfo(path="registry", revision="abc"),
                options=options,
                **extra,
            )
        )

    def write(self, relative: str, text: str) -> str:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        return relative

    def package(
        self,
        package: str,
        outcome: Outcome | str,
        *,
        condition: str = "default",
        reason: str | None = None,
        duration: float = 2.0,
        revision: str | None = "rev1",
        version: str | None = None,
        bucket: str | None = None,
        signature: str | None = None,
        reproducible: bool | None = True,
        stderr: str = SEGV_STDERR,
        last_lines: Iterable[str] = (),
        finished: bool = True,
        test_duration: float | None = None,
        attempt_outcomes: list[str] | None = None,
        crash_facts: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        install_failure: str | None = None,
    ) -> PackageFinished | None:
        """One package's events; `extra` sets more `package_finished` fields (a
        deadlock's `crash` on a hang, `races`, `flaky_tests`, ...)."""
        outcome = Outcome(outcome)
        self.writer.emit(
            PackageStarted(
                run_id=self.run_id,
                ts=self.tick(),
                package=package,
                condition=condition,
                source_kind="git",
                source_ref=revision,
            )
        )
        base = f"{package}/{condition}" if condition != "default" else package
        steps = [Step.SOURCE, Step.VENV, Step.INSTALL]
        if outcome not in (Outcome.INSTALL_ERROR, Outcome.SKIPPED, Outcome.SOURCE_ERROR):
            steps += [Step.IMPORT_CHECK, Step.TEST]
        if outcome == Outcome.SKIPPED:
            steps = []
        lines = list(last_lines)
        test_s = test_duration if test_duration is not None else duration * 0.7
        for step in steps:
            log = self.write(
                f"logs/{base}/{step.value}.log", f"{step.value} of {package}\n" + "\n".join(lines)
            )
            last = step == steps[-1]
            self.writer.emit(
                StepFinished(
                    run_id=self.run_id,
                    ts=self.tick(),
                    package=package,
                    condition=condition,
                    step=step,
                    command=f"{step.value} {package}",
                    exit_code=0 if not last or outcome == Outcome.PASS else 1,
                    signal=11 if last and outcome == Outcome.CRASH else None,
                    duration_s=test_s if step == Step.TEST else 0.1,
                    log_path=log,
                    last_lines=lines if last else [],
                )
            )
        if not finished:
            return None
        crash = None
        if outcome == Outcome.CRASH:
            sig = signature or f"SIGSEGV:{bucket or 'site'}:test_x.py:test_segv"
            crash = CrashInfo(
                kind="segfault",
                signal=11,
                headline="Fatal Python error: Segmentation fault",
                frames=["test_x.py:test_segv"],
                signature=sig,
                bucket=bucket if bucket is not None else "b-" + sig[-12:],
                reproducible=reproducible,
                stderr_path=self.write(f"crashes/{base}/stderr.txt", stderr),
                record_path=self.write(f"crashes/{base}/record.json", '{"kind": "segfault"}\n'),
                reproducer_path=self.write(
                    f"crashes/{base}/reproduce.sh",
                    f"#!/bin/sh\n# reproduce {package}\npython -m pytest\n",
                ),
            ).model_copy(update=crash_facts or {})
        durations = {"install": 0.3, "test": test_s} if steps else {}
        if reason is None and outcome != Outcome.PASS:
            reason = {"fail": "3 failed, 10 passed", "skipped": "skip: needs a GPU"}.get(
                outcome.value, outcome.value
            )
        result = PackageFinished(
            run_id=self.run_id,
            ts=self.tick(),
            package=package,
            condition=condition,
            outcome=outcome,
            reason=reason,
            crash=crash,
            install_failure=InstallFailure(install_failure) if install_failure else None,
            source_revision=revision,
            package_version=version,
            duration_s=duration,
            durations=durations,
            attempts=len(attempt_outcomes or []) or 1,
            attempt_outcomes=[Outcome(o) for o in attempt_outcomes or []],
        ).model_copy(update=extra or {})
        self.writer.emit(result)
        self.results.append(result)
        return result

    def finish(self, *, interrupted: bool = False) -> None:
        counts: dict[Outcome, int] = {}
        for result in self.results:
            counts[result.outcome] = counts.get(result.outcome, 0) + 1
        end = self.tick()
        self.writer.emit(
            RunFinished(
                run_id=self.run_id,
                ts=end,
                finished_at=end,
                wall_s=(end - self.started_at).total_seconds(),
                counts=counts,
                interrupted=interrupted,
            )
        )
        self.writer.close()


MakeRun = Callable[..., RunDir]


@pytest.fixture
def results_dir(tmp_path: Path) -> Iterator[Path]:
    """Where ``make_run`` writes runs: in memory (/dev/shm) when possible, because the
    event writer fsyncs and a busy disk makes every fsync slow."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        base = Path(tempfile.mkdtemp(prefix="reporter-test-", dir=shm))
        yield base / "results"
        shutil.rmtree(base, ignore_errors=True)
    else:
        yield tmp_path / "results"


@pytest.fixture
def make_run(results_dir: Path) -> MakeRun:
    """``make_run("r1", start=..., ...)`` -> a :class:`RunDir` under ``results_dir``."""

    def make(run_id: str, **kwargs: Any) -> RunDir:
        return RunDir(results_dir, run_id, **kwargs)

    return make


@pytest.fixture
def t0() -> datetime:
    """The start time of runs made by ``make_run`` unless told otherwise."""
    return T0

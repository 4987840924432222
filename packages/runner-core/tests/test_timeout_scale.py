"""The tests' time limits scaled for slower builds, and by `--timeout-scale`."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cpython_builds import built
from normalized_events import PackageFinished, Step, StepFinished, read_events
from runner_core.interpreter import probe_interpreter
from runner_core.timeouts import Scale, scale_line, suite_limits, timeout_scale
from runner_fixtures import Fixture, build_registry, package_outcomes, run_apiary, run_args


def test_a_release_build_keeps_the_registry_s_limits() -> None:
    scale = timeout_scale(probe_interpreter(sys.executable).info, None)
    assert scale == Scale(1.0, "release build") and scale_line(scale) is None
    limits = suite_limits(120, 1800.0, 600.0, scale)
    assert (limits.timeout_s, limits.idle_timeout_s) == (120.0, 600.0)


@pytest.mark.slow
@pytest.mark.xdist_group("asan-build")
def test_a_real_asan_build_gets_longer_limits_unless_told_otherwise() -> None:
    info = probe_interpreter(str(built("asan").python)).info
    scale = timeout_scale(info, None)
    assert scale == Scale(3.0, "AddressSanitizer build")
    assert scale_line(scale) == (
        "AddressSanitizer build: the tests' time limits are multiplied by 3"
    )
    limits = suite_limits(None, 1800.0, None, scale)
    assert (limits.timeout_s, limits.idle_timeout_s) == (5400.0, None)
    assert timeout_scale(info, 1.0) == Scale(1.0, "--timeout-scale")


@pytest.mark.slow
def test_timeout_scale_stretches_the_entry_s_timeout_in_a_real_run(
    fixture_registry: Callable[..., Path], tmp_path: Path
) -> None:
    registry = fixture_registry("slow-pkg")  # timeout: 10 in its entry; its test takes 200 s
    args = run_args(registry, tmp_path, "scaled", "--timeout-scale", "1.5")
    done = run_apiary(*args, cwd=tmp_path)
    assert "--timeout-scale: the tests' time limits are multiplied by 1.5" in done.stderr
    run_dir = tmp_path / "results" / "scaled"
    assert package_outcomes(run_dir) == {"slow-pkg": "timeout"}
    tests = [
        e
        for e in read_events(run_dir / "events.jsonl").known()
        if isinstance(e, StepFinished) and e.step == Step.TEST
    ]
    assert [(e.timeout_s, e.timed_out) for e in tests] == [(15.0, True)]


def test_a_scale_of_zero_is_refused_in_one_line(
    fixture_registry: Callable[..., Path], tmp_path: Path
) -> None:
    registry = fixture_registry("passing-pkg")
    done = run_apiary(*run_args(registry, tmp_path, "z", "--timeout-scale", "0"), cwd=tmp_path)
    assert done.returncode == 2
    assert "--timeout-scale" in done.stderr and "0" in done.stderr
    assert not (tmp_path / "results" / "z").exists()


SPINNER = {
    "spinner/__init__.py": "",
    "tests/test_spin.py": (
        "def spin():\n    while True:\n        pass\n\n\ndef test_spin():\n    spin()\n"
    ),
}


@pytest.mark.slow
def test_a_timeout_on_a_starved_cpu_says_the_machine_was_busy(tmp_path: Path) -> None:
    """The suite and three host processes share one CPU: the suite gets a quarter of it."""
    fixture = Fixture(
        "spinner",
        SPINNER,
        test="taskset -c 0 python -m pytest -q -p no:cacheprovider tests",
        timeout=8,
    )
    registry = build_registry(tmp_path, fixture)
    hogs = [
        # each in its own session: the scheduler shares a CPU between sessions first
        subprocess.Popen(
            ["taskset", "-c", "0", sys.executable, "-c", "while True: pass"],
            start_new_session=True,
        )
        for _ in range(3)
    ]
    try:
        args = run_args(registry, tmp_path, "starved", "--idle-timeout", "0")
        done = run_apiary(*args, cwd=tmp_path)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert done.returncode != 2, done.stderr
    run_dir = tmp_path / "results" / "starved"
    finished = [
        e for e in read_events(run_dir / "events.jsonl").known() if isinstance(e, PackageFinished)
    ]
    assert [e.outcome.value for e in finished] == ["timeout"]
    reason = finished[0].reason or ""
    assert "of a CPU over" in reason and "the machine was busy, see --timeout-scale" in reason


CHILD_SPINNER = {
    "spinner/__init__.py": "",
    "tests/test_spin.py": (
        "import os\n\n\n"
        "def test_spin_in_two_workers():\n"
        "    for _ in range(2):\n"
        "        if os.fork() == 0:\n"
        "            while True:\n"
        "                pass\n"
        "    os.wait()\n"
    ),
}


@pytest.mark.slow
def test_worker_processes_spinning_while_the_suite_waits_are_a_loop(tmp_path: Path) -> None:
    """The workers are killed unreaped, so `wait4` never counts their CPU: read from /proc
    before the kill, the suite's processes held a whole CPU (two workers, so that a
    machine busy with other tests still gives them one between them), which is a loop to
    triage, not a busy machine."""
    fixture = Fixture(
        "spinner", CHILD_SPINNER, test="python -m pytest -q -p no:cacheprovider tests", timeout=8
    )
    registry = build_registry(tmp_path, fixture)
    done = run_apiary(*run_args(registry, tmp_path, "child", "--idle-timeout", "0"), cwd=tmp_path)
    assert done.returncode != 2, done.stderr
    events = list(read_events(tmp_path / "results" / "child" / "events.jsonl").known())
    finished = [e for e in events if isinstance(e, PackageFinished)]
    assert [e.outcome.value for e in finished] == ["timeout"]
    assert "the machine was busy" not in (finished[0].reason or "")
    assert "mostly asleep" not in (finished[0].reason or "")
    crash = finished[0].crash
    assert crash is not None and crash.kind == "busy_hang"
    # not dismissed as no loop: triage went on to ask for the JIT, which this build lacks
    assert crash.jit_only is None and "JIT" in (crash.jit_only_reason or ""), crash


LATE_SPINNER = {
    "spinner/__init__.py": "",
    "tests/test_spin.py": (
        "import time\n\n\n"
        "def test_sleep_then_spin():\n"
        "    time.sleep(8)\n"
        "    while True:\n"
        "        pass\n"
    ),
}


@pytest.mark.slow
def test_a_suite_that_mostly_slept_is_no_loop_and_no_busy_machine(tmp_path: Path) -> None:
    """Running at the stop, but asleep for most of the run: its processes had a fifth of
    a CPU and hardly waited for one. Neither a loop nor a busy machine explains that."""
    fixture = Fixture(
        "spinner", LATE_SPINNER, test="python -m pytest -q -p no:cacheprovider tests", timeout=10
    )
    registry = build_registry(tmp_path, fixture)
    done = run_apiary(*run_args(registry, tmp_path, "late", "--idle-timeout", "0"), cwd=tmp_path)
    assert done.returncode != 2, done.stderr
    events = read_events(tmp_path / "results" / "late" / "events.jsonl").known()
    finished = [e for e in events if isinstance(e, PackageFinished)]
    assert [e.outcome.value for e in finished] == ["timeout"]
    reason = finished[0].reason or ""
    assert "of a CPU over" in reason and "mostly asleep, not a loop" in reason, reason
    crash = finished[0].crash
    assert crash is not None and "mostly asleep" in (crash.jit_only_reason or ""), crash

"""`apiary run` end to end, as a user runs it, on fixture packages in local git repos."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from normalized_events import PackageFinished, StepFinished, read_events
from runner_fixtures import APIARY, package_outcomes, pyenv_python, run_apiary, run_args

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("run-e2e")]

ALL = (
    "passing-pkg",
    "failing-pkg",
    "segv-pkg",
    "abort-pkg",
    "hang-pkg",
    "slow-pkg",
    "needy-pkg",
    "broken-import",
    "uninstallable",
)


def _apiary_run(registry: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_apiary(
        "run",
        "--registry-dir",
        str(registry),
        "--results-dir",
        str(tmp_path / "results"),
        "--work-dir",
        str(tmp_path / "work"),
        "--idle-timeout",
        "20",
        "--run-id",
        "r1",
        *extra,
        cwd=tmp_path,
    )


def test_every_outcome_from_real_packages(
    fixture_registry: Callable[..., Path], tmp_path: Path
) -> None:
    registry = fixture_registry(*ALL, extra_files={"packages/broken.yaml": "package: [unclosed\n"})
    done = _apiary_run(registry, tmp_path, "--workers", "2")
    assert done.returncode == 0, done.stderr
    run_dir = tmp_path / "results" / "r1"
    assert package_outcomes(run_dir) == {
        "passing-pkg": "pass",
        "failing-pkg": "fail",
        "segv-pkg": "crash",
        "abort-pkg": "crash",
        "hang-pkg": "hang",
        "slow-pkg": "timeout",
        "needy-pkg": "config_error",
        "broken-import": "import_error",
        "uninstallable": "install_error",
    }
    assert "broken.yaml" in done.stderr  # the broken file is reported, the rest ran
    events = read_events(run_dir / "events.jsonl")
    assert events.problems == [] and not events.torn_tail
    finished = {e.package: e for e in events.known() if isinstance(e, PackageFinished)}
    assert "apiary_missing_test_dependency" in (finished["needy-pkg"].reason or "")
    segv = finished["segv-pkg"].crash
    assert segv is not None and segv.kind == "segfault" and segv.signal == 11
    assert segv.reproducible is True
    assert finished["passing-pkg"].source_revision and finished["passing-pkg"].installed
    assert "pytest" in {k.lower() for k in finished["passing-pkg"].installed}
    # Each step has its own log and event.
    steps = [
        e for e in events.known() if isinstance(e, StepFinished) and e.package == "passing-pkg"
    ]
    assert [s.step.value for s in steps] == ["source", "venv", "install", "import_check", "test"]
    for step in steps:
        assert step.log_path and (run_dir / step.log_path).is_file()
    # The hang's setsid grandchild is gone.
    leftovers = subprocess.run(
        ["pgrep", "-f", "sleep 1000"], capture_output=True, text=True, check=False
    )
    assert leftovers.stdout.strip() == ""
    # The reproducer reproduces the crash by hand.
    script = run_dir / (segv.reproducer_path or "")
    repro = subprocess.run(
        ["bash", str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={
            **{k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"},
            "WORK": str(tmp_path / "repro"),
        },
    )
    assert repro.returncode in (139, -11, 1), repro.stderr[-2000:]
    assert "Segmentation fault" in repro.stdout + repro.stderr


def test_second_run_reuses_venvs_and_a_new_interpreter_does_not(
    fixture_registry: Callable[..., Path], tmp_path: Path
) -> None:
    py312, py313 = pyenv_python("3.12"), pyenv_python("3.13")
    if py312 is None or py313 is None:
        pytest.skip("pyenv 3.12 and 3.13 are needed for the two-interpreter test")
    registry = fixture_registry("passing-pkg")
    outcomes = {}
    for run_id, python in (("a", py312), ("b", py312), ("c", py313)):
        done = run_apiary(
            *run_args(registry, tmp_path, run_id),
            "--target-python",
            str(python),
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        events = read_events(tmp_path / "results" / run_id / "events.jsonl").known()
        outcomes[run_id] = (
            [e.step.value for e in events if isinstance(e, StepFinished)],
            next(e for e in events if e.type == "run_started").interpreter.version,
        )
    assert "install" in outcomes["a"][0] and outcomes["a"][1].startswith("3.12")
    assert "install" not in outcomes["b"][0]  # same interpreter, same source: venv reused
    assert "install" in outcomes["c"][0] and outcomes["c"][1].startswith("3.13")


def test_resume_after_kill_9_redoes_nothing_and_loses_nothing(
    fixture_registry: Callable[..., Path], tmp_path: Path
) -> None:
    registry = fixture_registry(
        "passing-pkg", "failing-pkg", "slow-pkg", "abort-pkg", "skipped-pkg"
    )
    results = tmp_path / "results"
    argv = [
        APIARY,
        "run",
        "--registry-dir",
        str(registry),
        "--results-dir",
        str(results),
        "--work-dir",
        str(tmp_path / "work"),
        "--run-id",
        "k",
        "--idle-timeout",
        "20",
        "--workers",
        "2",
        "--force-run",  # runs skipped-pkg: the resumed run must do the same
    ]
    process = subprocess.Popen(
        argv,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "CI": "1"},
    )
    events_path = results / "k" / "events.jsonl"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if (
            events_path.exists()
            and sum(isinstance(e, PackageFinished) for e in read_events(events_path).known()) >= 1
        ):
            break
        time.sleep(0.2)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    # Its workers and their sandboxes went down with it.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _processes_mentioning(str(tmp_path)):
        time.sleep(0.5)
    assert _processes_mentioning(str(tmp_path)) == []
    before = [e for e in read_events(events_path).known() if isinstance(e, PackageFinished)]
    assert 1 <= len(before) < 5
    resumed = run_apiary("run", "--resume", "k", "--results-dir", str(results), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    after = [e for e in read_events(events_path).known() if isinstance(e, PackageFinished)]
    names = [e.package for e in after]
    assert sorted(names) == sorted(
        ["passing-pkg", "failing-pkg", "slow-pkg", "abort-pkg", "skipped-pkg"]
    )
    assert {e.package: e.outcome.value for e in after}["skipped-pkg"] == "pass"
    assert after[: len(before)] == before  # what finished was kept, not redone
    run_json = json.loads((results / "k" / "run.json").read_text())
    assert run_json["status"] == "finished"


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if text in cmdline:
                found.append(cmdline)
    return found


def test_dry_run_touches_nothing(fixture_registry: Callable[..., Path], tmp_path: Path) -> None:
    registry = fixture_registry("passing-pkg", "failing-pkg")
    done = _apiary_run(registry, tmp_path, "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "run   passing-pkg" in done.stdout and "run   failing-pkg" in done.stdout
    assert not (tmp_path / "results").exists() and not (tmp_path / "work").exists()


def _planned(done: subprocess.CompletedProcess[str]) -> list[str]:
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    return [line.split()[1] for line in lines if line.startswith("  run ")]


def test_sample_draws_the_same_packages_for_the_same_seed(
    fixture_registry: Callable[..., Path], tmp_path: Path
) -> None:
    registry = fixture_registry(*ALL)
    every = _planned(_apiary_run(registry, tmp_path, "--dry-run"))
    draws = [
        _apiary_run(registry, tmp_path, "--dry-run", "--sample", "3", "--seed", seed)
        for seed in ("7", "7", "8")
    ]
    first, again, other = (_planned(done) for done in draws)
    assert len(first) == 3 and first == again and first != other
    assert first == [name for name in every if name in first]  # in the registry's order
    unseeded = _apiary_run(registry, tmp_path, "--dry-run", "--sample", "3")
    seed = unseeded.stderr.split("--seed ")[1].split()[0]
    reseeded = _apiary_run(registry, tmp_path, "--dry-run", "--sample", "3", "--seed", seed)
    assert _planned(unseeded) == _planned(reseeded)
    assert len(_planned(_apiary_run(registry, tmp_path, "--dry-run", "--sample", "99"))) == 9


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--packages", "nope"], "'nope' is not in the registry"),
        (["--where", "colour=red"], "unknown field 'colour'"),
        (["--env", "NOEQUALS"], "--env: 'NOEQUALS' is not KEY=VALUE"),
        (["--target-python", "/no/such/python"], "/no/such/python"),
        (["--installer", "conda"], "--installer: 'conda' is not one of"),
        (["--shard", "3/2"], "--shard '3/2'"),
        (["--condition", "x:gpu=1"], "unknown setting 'gpu'"),
    ],
)
def test_bad_options_give_one_clear_line(
    fixture_registry: Callable[..., Path], tmp_path: Path, args: list[str], message: str
) -> None:
    registry = fixture_registry("passing-pkg")
    done = _apiary_run(registry, tmp_path, "--dry-run", *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stopping_apiary_kills_the_sandbox_and_keeps_what_finished(
    fixture_registry: Callable[..., Path], tmp_path: Path, signum: signal.Signals
) -> None:
    registry = fixture_registry("passing-pkg", "hang-pkg")
    results = tmp_path / "results"
    argv = [
        APIARY,
        "run",
        "--registry-dir",
        str(registry),
        "--results-dir",
        str(results),
        "--work-dir",
        str(tmp_path / "work"),
        "--run-id",
        "s",
        "--packages",
        "passing-pkg,hang-pkg",
        "--idle-timeout",
        "600",
    ]
    process = subprocess.Popen(
        argv,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CI": "1"},
    )
    events_path = results / "s" / "events.jsonl"
    deadline = time.monotonic() + 300
    started = False
    while time.monotonic() < deadline and not started:
        time.sleep(0.3)
        if events_path.exists():
            started = any(
                isinstance(e, StepFinished)
                and e.package == "hang-pkg"
                and e.step.value == "import_check"
                for e in read_events(events_path).known()
            )
    try:
        assert started
        time.sleep(2)  # the test command is running
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "--resume s" in stderr
    events = read_events(events_path).known()
    finished = [e.package for e in events if isinstance(e, PackageFinished)]
    assert finished == ["passing-pkg"]
    assert events[-1].type == "run_finished" and events[-1].interrupted
    assert _sleeps_started_under(tmp_path) == []


def _sleeps_started_under(folder: Path) -> list[int]:
    """hang-pkg's `sleep 1000` processes whose environment names `folder` (its venv, its
    home): this test's, not those of another test running beside it."""
    found = subprocess.run(
        ["pgrep", "-f", "sleep 1000"], capture_output=True, text=True, check=False
    )
    mine = []
    for pid in map(int, found.stdout.split()):
        with contextlib.suppress(OSError):
            if str(folder).encode() in Path(f"/proc/{pid}/environ").read_bytes():
                mine.append(pid)
    return mine


def test_uv_failure_falls_back_to_pip_and_says_so(
    fixture_registry: Callable[..., Path], tmp_path: Path
) -> None:
    registry = fixture_registry("pip-only", "passing-pkg")
    done = _apiary_run(registry, tmp_path)
    assert done.returncode == 0, done.stderr
    run_dir = tmp_path / "results" / "r1"
    finished = {
        e.package: e
        for e in read_events(run_dir / "events.jsonl").known()
        if isinstance(e, PackageFinished)
    }
    assert finished["pip-only"].outcome.value == "pass"
    assert finished["pip-only"].installer == "pip (uv failed)"
    assert finished["passing-pkg"].installer == "uv"
    uv_log = run_dir / "logs" / "pip-only" / "install.uv.log"
    assert "--no-clean" in uv_log.read_text()
    # --installer pip never tries uv.
    again = run_apiary(
        "run",
        "--registry-dir",
        str(registry),
        "--results-dir",
        str(tmp_path / "results"),
        "--work-dir",
        str(tmp_path / "work-pip"),
        "--run-id",
        "p",
        "--installer",
        "pip",
        "--packages",
        "passing-pkg",
        cwd=tmp_path,
    )
    assert again.returncode == 0, again.stderr
    (only,) = [
        e
        for e in read_events(tmp_path / "results" / "p" / "events.jsonl").known()
        if isinstance(e, PackageFinished)
    ]
    assert only.outcome.value == "pass" and only.installer == "pip"


def test_venv_without_pip_when_uv_installs_and_pip_added_when_uv_fails(
    fixture_registry: Callable[..., Path], tmp_path: Path
) -> None:
    py313 = pyenv_python("3.13")
    if py313 is None:
        pytest.skip("pyenv 3.13 is needed (seeding is always kept before 3.12)")
    registry = fixture_registry("pip-only", "passing-pkg")
    done = _apiary_run(registry, tmp_path, "--target-python", str(py313))
    assert done.returncode == 0, done.stderr
    finished = {
        e.package: e
        for e in read_events(tmp_path / "results" / "r1" / "events.jsonl").known()
        if isinstance(e, PackageFinished)
    }
    assert finished["passing-pkg"].outcome.value == "pass"
    assert "pip" not in finished["passing-pkg"].installed
    venv_log = tmp_path / "results" / "r1" / "logs" / "passing-pkg" / "venv.log"
    assert "--seed" not in venv_log.read_text()
    # uv refuses the pip-only install; pip is installed first, then runs it.
    assert finished["pip-only"].outcome.value == "pass"
    assert finished["pip-only"].installer == "pip (uv failed)"
    assert "pip" in finished["pip-only"].installed

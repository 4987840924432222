"""Crash forensics end to end: buckets across packages, reruns, reproducers."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from normalized_events import PackageFinished, read_events
from runner_fixtures import run_apiary, run_args

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("run-e2e")]


def test_same_site_shares_a_bucket_other_site_does_not(
    fixture_registry: Callable[..., Path], tmp_path: Path
) -> None:
    registry = fixture_registry("site-a", "site-b", "site-c")
    done = run_apiary(
        *run_args(registry, tmp_path, "b"),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    run_dir = tmp_path / "results" / "b"
    crashes = {
        e.package: e.crash
        for e in read_events(run_dir / "events.jsonl").known()
        if isinstance(e, PackageFinished) and e.crash is not None
    }
    assert set(crashes) == {"site-a", "site-b", "site-c"}
    a, b, c = crashes["site-a"], crashes["site-b"], crashes["site-c"]
    assert a.bucket == b.bucket, (a.signature, b.signature)
    assert c.bucket != a.bucket
    assert "nodes.py:deref" in a.signature
    for crash in (a, b, c):
        assert crash.kind == "segfault" and crash.reproducible is True
        record = json.loads((run_dir / (crash.record_path or "")).read_text())
        assert record["bucket"] == crash.bucket
        assert record["record"]["python_frames"]
        assert "Segmentation fault" in (run_dir / (crash.stderr_path or "")).read_text()
    # The reproducer rebuilds the venv from scratch and crashes the same way, by hand.
    script = run_dir / (c.reproducer_path or "")
    text = script.read_text()
    assert "PYTHON_JIT=1" in text.replace("'", "") and "python -m pytest" in text
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
    assert repro.returncode == 139 or "exited with status 139" in repro.stderr, repro.stderr[-3000:]
    assert "site_c/__init__.py" in repro.stderr + repro.stdout
    assert (tmp_path / "repro" / "venv" / "bin" / "python").exists()


def _seed_that_crashes(crashing: bool) -> str:
    """A PYTHONHASHSEED under which the seed-crash fixture does (or does not) crash."""
    for seed in range(1, 200):
        done = subprocess.run(
            ["python3", "-c", 'print(sorted({"a", "b", "c"}, key=hash)[0])'],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        )
        if (done.stdout.strip() == "a") is crashing:
            return str(seed)
    raise AssertionError("no such seed in 1-199")


def test_a_crash_some_hash_seeds_reach_reproduces_under_its_seed(
    fixture_registry: Callable[..., Path], tmp_path: Path
) -> None:
    """The run picks a seed (or keeps the one it is given), the rerun and the reproducer
    use it: a crash that depends on set order is reproducible, not flaky."""
    registry = fixture_registry("seed-crash", "passing-pkg")
    crashing = _seed_that_crashes(True)
    done = run_apiary(
        *run_args(registry, tmp_path, "s", "--env", f"PYTHONHASHSEED={crashing}"), cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    run_dir = tmp_path / "results" / "s"
    finished = {
        e.package: e
        for e in read_events(run_dir / "events.jsonl").known()
        if isinstance(e, PackageFinished)
    }
    crash = finished["seed-crash"].crash
    assert crash is not None and crash.reproducible is True
    assert finished["seed-crash"].hash_seed == crashing
    for step in ("test", "isolate"):
        log = (run_dir / "logs" / "seed-crash" / f"{step}.log").read_text()
        assert f"seed {crashing}" in log
    script = (run_dir / (crash.reproducer_path or "")).read_text()
    assert f"export PYTHONHASHSEED={crashing}" in script
    # unless told, each package's tests get a seed of their own, recorded
    again = run_apiary(*run_args(registry, tmp_path, "t"), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    seeds = [
        e.hash_seed
        for e in read_events(tmp_path / "results" / "t" / "events.jsonl").known()
        if isinstance(e, PackageFinished)
    ]
    assert all(s is not None and s.isdigit() and s != "0" for s in seeds), seeds

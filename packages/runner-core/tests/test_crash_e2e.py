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

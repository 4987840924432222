"""Run directories copied, cut or written to hurt: a report says what it can, in lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reporter.model.load import load_run

MakeRun = Callable[..., Any]
DEEP = 100_000


def _summary(run_dir: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "CI"}
    return subprocess.run(
        [sys.executable, "-m", "reporter", "summary", str(run_dir), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        check=False,
    )


def test_deeply_nested_lines_and_a_torn_result(make_run: MakeRun) -> None:
    run = make_run("r1")
    run.package("a", "pass")
    run.writer.close()
    events = run.path / "events.jsonl"
    nest = "[" * DEEP + "]" * DEEP
    lines = [
        '{"type":"package_finished","run_id":"r1","seq":50,"package":"b","x":' + nest + "}",
        '{"type":"step_finished","run_id":"r1","seq":51,"package":"a","x":' + nest + "}",
        '{"run_id":"r1","seq":52,"type":"cosmic","x":' + nest + "}",
        nest,
    ]
    torn = json.loads(events.read_text().splitlines()[-1])
    torn.update(package="c", seq=60)
    with events.open("a") as handle:
        handle.write("\n".join(lines) + "\n" + json.dumps(torn, separators=(",", ":")))
    loaded = load_run(run.path)
    assert set(loaded.results) == {("a", "default")}  # the torn "c" is not a result
    assert loaded.torn_tail
    loaded.package_events()
    problems = loaded.validate()
    assert len(problems) == 4 and all("nested too deeply" in p.message for p in problems)
    done = _summary(run.path)
    assert "Traceback" not in done.stderr and "RecursionError" not in done.stderr
    assert done.returncode == 0, done.stderr

"""`apiary report bisect`: a bisection's answer and steps read back from its event log."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Literal

from normalized_events import BisectFinished, BisectStarted, BisectStep, EventWriter


def report(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reporter", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


GOOD, MID, BAD = "a" * 40, "b" * 40, "c" * 40


def _write(folder: Path, *, finished: bool, candidates: list[str]) -> None:
    with EventWriter(folder / "events.jsonl", "bisect-x") as writer:
        writer.emit(
            BisectStarted(
                run_id="bisect-x",
                target="cpython",
                package="pkg",
                repository="/src/cpython",
                good=GOOD,
                bad=BAD,
                commits=2,
                bucket="0123456789ab",
                signature="segfault | Segmentation fault | test_abs.py:test_the_one_input",
                command="python -m pytest tests",
                tries=3,
                interpreter="plain",
            )
        )
        steps: tuple[tuple[str, Literal["good", "bad", "skip"], str], ...] = (
            (BAD, "bad", "c"),
            (GOOD, "good", "a"),
            (MID, "skip", "b"),
        )
        for commit, verdict, subject in steps:
            writer.emit(
                BisectStep(
                    run_id="bisect-x",
                    commit=commit,
                    subject=f"subject {subject}",
                    verdict=verdict,
                    reason="why",
                    tries=1,
                    duration_s=12.5,
                    build_s=9.0,
                    endpoint=commit != MID,
                )
            )
        if finished:
            first = candidates[0] if len(candidates) == 1 else None
            writer.emit(
                BisectFinished(run_id="bisect-x", first_bad=first, candidates=candidates, steps=3)
            )


def test_a_range_when_skips_hide_the_first_bad_commit(tmp_path: Path) -> None:
    _write(tmp_path, finished=True, candidates=[MID, BAD])
    done = report("bisect", tmp_path, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"first bad commit is one of 2 ({MID[:12]}..{BAD[:12]}" in done.stdout
    assert f"    {MID[:12]}  subject b" in done.stdout
    assert "bucket:     0123456789ab  segfault" in done.stdout
    assert f"  {MID[:12]}  skip  tries 1     12.5s  build 9s  subject b" in done.stdout
    data = json.loads(report("bisect", tmp_path, "--json", cwd=tmp_path).stdout)
    assert data["first_bad"] is None and data["candidates"] == [MID, BAD]
    assert [s["verdict"] for s in data["steps"]] == ["bad", "good", "skip"]


def test_an_unfinished_bisection_says_how_to_resume(tmp_path: Path) -> None:
    _write(tmp_path, finished=False, candidates=[])
    done = report("bisect", tmp_path, cwd=tmp_path)
    assert "unfinished: run the same bisect command again to resume it" in done.stdout


def test_a_folder_without_a_bisection_is_one_line(tmp_path: Path) -> None:
    done = report("bisect", tmp_path, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {tmp_path}: no events.jsonl (not a bisection folder)"

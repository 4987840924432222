"""Reading run directories: the fast reader agrees with the contract's reader, survives
damage, and finds `latest` by start time."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from normalized_events import Outcome, PackageFinished, read_events
from reporter import RunData, RunDirError, find_runs, load_run, resolve_run
from reporter.model.load import last_runs

MakeRun = Callable[..., Any]


def _same(fast: RunData, exact: RunData) -> None:
    assert fast.run_id == exact.run_id
    assert fast.results == exact.results
    assert fast.starts == exact.starts
    assert fast.finish == exact.finish
    assert fast.package_events() == exact.package_events()
    assert fast.validate() == exact.validate()
    assert fast.wall_s == exact.wall_s
    assert fast.unfinished() == exact.unfinished()


def test_fast_reader_agrees_with_the_contract_reader(make_run: MakeRun) -> None:
    run = make_run("r1", selection=["a", "b", "c", "d"])
    run.package("a", "pass")
    run.package("b", "crash", bucket="b1")
    run.package("c", "config_error", reason="ModuleNotFoundError: No module named 'x'")
    run.package("d", "pass", finished=False)
    run.finish()
    fast = load_run(run.path)
    read = read_events(run.path / "events.jsonl")
    exact = RunData.from_events(read.events, path=run.path)
    _same(fast, exact)
    assert [s.step.value for s in fast.steps("b")] == [
        "source",
        "venv",
        "install",
        "import_check",
        "test",
    ]
    assert fast.unfinished() == [("d", "default")]
    assert fast.expected() == {(p, "default") for p in "abcd"}


def test_hand_written_lines_with_other_spacing_and_key_order(tmp_path: Path) -> None:
    lines = [
        {
            "type": "package_started",
            "run_id": "h",
            "seq": 0,
            "ts": "2025-01-01T00:00:00Z",
            "package": "x",
        },
        {
            "ts": "2025-01-01T00:00:05+00:00",
            "type": "step_finished",
            "run_id": "h",
            "seq": 1,
            "package": "x",
            "step": "test",
            "last_lines": ["No module named 'zzz'"],
        },
        {
            "outcome": "fail",
            "type": "package_finished",
            "run_id": "h",
            "seq": 2,
            "ts": "2025-01-01T00:00:09Z",
            "package": "x",
            "duration_s": 9,
            "future_field": {"kept": True},
        },
    ]
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(line, indent=None) + "\n" for line in lines))
    run = load_run(tmp_path)
    result = run.results[("x", "default")]
    assert result.outcome == Outcome.FAIL
    assert result.model_extra == {"future_field": {"kept": True}}
    assert run.steps("x")[0].last_lines == ["No module named 'zzz'"]
    assert run.started_at is not None and run.wall_s == 9.0  # no run_started: first to last
    assert run.run_id == "h"


def test_damaged_log_is_read_with_problems_by_line(make_run: MakeRun) -> None:
    run = make_run("r1")
    run.package("a", "pass")
    run.package("b", "fail")
    run.writer.close()
    events = run.path / "events.jsonl"
    good = events.read_text().splitlines()
    # A corrupt line in the middle, an invalid package_finished, an invalid step line, an
    # unknown event type, and a torn last line.
    bad_step = json.loads(good[2])
    bad_step["step"] = "teleport"
    bad_finish = json.loads(good[-1])
    bad_finish.update(outcome="exploded", package="c")
    damaged = [
        good[0],
        "{not json",
        *good[1:],
        json.dumps(bad_step, separators=(",", ":")),
        json.dumps(bad_finish, separators=(",", ":")),
        json.dumps({"type": "cosmic_ray", "run_id": "r1", "seq": 99, "flux": 3}),
        '{"type":"package_finished","run_id":"r1","seq":100,"ts":"2025-',
    ]
    events.write_text("\n".join(damaged))
    loaded = load_run(run.path)
    assert set(loaded.results) == {("a", "default"), ("b", "default")}
    assert loaded.torn_tail
    assert [u.type for u in loaded.unknown] == ["cosmic_ray"]
    problems = loaded.validate()
    assert [p.line for p in problems] == [2, len(good) + 2, len(good) + 3]
    assert "not valid JSON" in problems[0].message
    assert "step" in problems[1].message
    assert "outcome" in problems[2].message
    # the same problems as the contract's own reader
    assert problems == sorted(read_events(events).problems, key=lambda p: p.line)


def test_resumed_run_counts_real_time_of_both_sessions(make_run: MakeRun) -> None:
    run = make_run("r1")
    run.package("a", "pass")  # 3 events, 1 s apart after the start -> session 1: ~8 s
    run.tick(3600)  # an hour with nothing running (the run was killed)
    run.start()
    run.package("b", "pass")
    run.finish()
    loaded = load_run(run.path)
    assert loaded.resumed == 1
    assert len(loaded.starts) == 2
    first = (loaded.segment_ends[0] - loaded.starts[0].ts).total_seconds()
    second = (loaded.segment_ends[1] - loaded.starts[1].ts).total_seconds()
    assert loaded.wall_s == first + second
    assert loaded.wall_s is not None and loaded.wall_s < 60  # not the hour in between
    assert loaded.finish is not None and loaded.finish.wall_s > 3600  # what the writer said


def test_a_package_finished_twice_keeps_the_last_and_says_so(make_run: MakeRun) -> None:
    run = make_run("r1")
    run.package("a", "crash", bucket="b1")
    run.package("a", "pass")
    run.finish()
    loaded = load_run(run.path)
    assert loaded.results[("a", "default")].outcome == Outcome.PASS
    assert [r.outcome for r in loaded.replaced] == [Outcome.CRASH]
    assert any("finished more than once" in note for note in loaded.notes)


def test_latest_is_by_run_started_time_not_by_name(
    make_run: MakeRun, results_dir: Path, t0: datetime
) -> None:
    for name, hours in (("zzz-oldest", 0), ("aaa-newest", 2), ("mmm-middle", 1)):
        run = make_run(name, start=t0 + timedelta(hours=hours))
        run.finish()
    (results_dir / "not-a-run").mkdir()
    assert [r.run_id for r in find_runs(results_dir)] == ["zzz-oldest", "mmm-middle", "aaa-newest"]
    assert resolve_run("latest", results_dir) == results_dir / "aaa-newest"
    assert resolve_run("mmm-middle", results_dir) == results_dir / "mmm-middle"
    assert last_runs(2, results_dir) == [results_dir / "mmm-middle", results_dir / "aaa-newest"]
    assert last_runs(None, results_dir)[0] == results_dir / "zzz-oldest"


def test_missing_things_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match="no such run directory"):
        load_run(tmp_path / "nope")
    with pytest.raises(RunDirError, match=r"not an apiary run directory \(no events.jsonl\)"):
        load_run(tmp_path)
    with pytest.raises(RunDirError, match="no such results directory"):
        resolve_run("latest", tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunDirError, match="no runs found"):
        resolve_run("latest", tmp_path / "empty")
    with pytest.raises(RunDirError, match="nor a run id"):
        resolve_run("r9", tmp_path / "empty")


def test_artifacts_stay_inside_the_run_directory(make_run: MakeRun, tmp_path: Path) -> None:
    run = make_run("r1")
    run.package("a", "crash", bucket="b1")
    run.finish()
    (tmp_path / "secret.txt").write_text("secret")
    loaded = load_run(run.path)
    crash = loaded.results[("a", "default")].crash
    assert crash is not None
    assert "Segmentation fault" in (loaded.read_artifact(crash.stderr_path) or "")
    assert loaded.read_artifact("../../secret.txt") is None
    assert loaded.artifact("/etc/passwd") is None
    assert loaded.read_artifact("crashes/none.txt") is None


def test_long_artifacts_are_cut_to_their_end(make_run: MakeRun) -> None:
    run = make_run("r1")
    run.write("big.txt", "x" * 1000 + "THE END")
    loaded = load_run(run.path)
    text = loaded.read_artifact("big.txt", limit=100)
    assert text is not None and text.endswith("THE END") and "1007" not in text
    assert text.startswith("[... 907 earlier bytes not shown ...]")


def test_from_events_builds_the_same_run_in_memory(t0: datetime) -> None:
    events = [
        PackageFinished(run_id="m", package="p", outcome=Outcome.PASS, seq=0, ts=t0),
        PackageFinished(
            run_id="m", package="p", condition="jit", outcome=Outcome.CRASH, seq=1, ts=t0
        ),
    ]
    run = RunData.from_events(events)
    assert run.run_id == "m"
    assert run.conditions() == ["default", "jit"]
    assert run.expected() is None
    assert run.interrupted  # no run_finished


def test_finding_runs_reads_a_bounded_part_of_a_log_without_line_breaks(
    make_run: MakeRun, results_dir: Path, t0: datetime
) -> None:
    make_run("real", start=t0).finish()
    planted = results_dir / "planted"
    planted.mkdir()
    with (planted / "events.jsonl").open("wb") as log:
        log.truncate(512 << 20)  # half a gigabyte of one line, on disk as a hole
    tracemalloc.start()
    try:
        found = find_runs(results_dir)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [run.run_id for run in found] == ["real"]
    assert peak < 64 << 20

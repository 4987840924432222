"""Runs side by side: flaky packages, changes, crash buckets first and last seen."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from normalized_events import Outcome
from reporter import build_history, load_history, load_run
from reporter.model.history_load import _quick, read_rows

MakeRun = Callable[..., Any]

# package -> per run: (outcome, source revision, extra keyword arguments)
STORIES: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    # pass, crash, pass with one source and interpreter: flaky
    "oscillates": [("pass", "r1", {}), ("crash", "r1", {"bucket": "b1"}), ("pass", "r1", {})],
    # pass, then crashes for good: one change is a regression, not flakiness
    "regressed": [
        ("pass", "r1", {}),
        ("crash", "r1", {"bucket": "b2"}),
        ("crash", "r1", {"bucket": "b2"}),
    ],
    # outcome moves with the source revision: not flaky
    "new-source": [("pass", "r1", {}), ("fail", "r2", {}), ("pass", "r3", {})],
    # a crash that did not reproduce on rerun: flaky even in one run
    "unrepro": [
        ("pass", "r1", {}),
        ("pass", "r1", {}),
        ("crash", "r1", {"bucket": "b1", "reproducible": False}),
    ],
    # retried within a run, with different outcomes: flaky
    "retried": [
        ("pass", "r1", {}),
        ("pass", "r1", {"attempt_outcomes": ["crash", "pass"]}),
        ("pass", "r1", {}),
    ],
    # skipped runs do not count as changes
    "skippy": [("pass", "r1", {}), ("skipped", "r1", {}), ("pass", "r1", {})],
    "steady": [("pass", "r1", {}), ("pass", "r1", {}), ("pass", "r1", {})],
    # absent from the middle run
    "absent": [("fail", "r1", {}), (None, "r1", {}), ("fail", "r1", {})],  # type: ignore[list-item]
}


def _runs(make_run: MakeRun, t0: datetime) -> list[Any]:
    # names that sort against time, so ordering by start time is visible
    runs = [make_run(name, start=t0 + timedelta(days=i)) for i, name in enumerate(["c", "b", "a"])]
    for package, story in STORIES.items():
        for run, (outcome, revision, extra) in zip(runs, story, strict=True):
            if outcome is not None:
                run.package(package, outcome, revision=revision, **extra)
    for run in runs:
        run.finish()
    return [load_run(run.path) for run in runs]


def test_flaky_means_oscillating_with_one_source_and_interpreter(
    make_run: MakeRun, t0: datetime
) -> None:
    loaded = _runs(make_run, t0)
    history = build_history(list(reversed(loaded)))  # input order does not matter
    assert [r.run_id for r in history.runs] == ["c", "b", "a"]
    flaky = {p.package: p.flaky_detail for p in history.flaky()}
    assert set(flaky) == {"oscillates", "unrepro", "retried"}
    assert flaky["retried"] == "attempts of one run disagreed in b"
    assert flaky["oscillates"] == "pass -> crash -> pass with source r1 and one interpreter"
    assert flaky["unrepro"] == "crash did not reproduce on rerun in a"
    changed = {p.package for p in history.changed()}
    assert changed == {"oscillates", "regressed", "new-source", "unrepro", "skippy"}
    by_name = {p.package: p for p in history.packages}
    assert by_name["absent"].outcomes == [Outcome.FAIL, None, Outcome.FAIL]
    assert not by_name["absent"].changed


def test_another_interpreter_is_not_flakiness(make_run: MakeRun, t0: datetime) -> None:
    runs = [
        make_run("x1", start=t0, version="3.13.0"),
        make_run("x2", start=t0 + timedelta(days=1), version="3.14.0"),
        make_run("x3", start=t0 + timedelta(days=2), version="3.13.0", jit=False),
    ]
    for run, outcome in zip(runs, ["pass", "crash", "pass"], strict=True):
        run.package("p", outcome, bucket="b")
        run.finish()
    history = build_history([load_run(r.path) for r in runs])
    assert history.flaky() == []
    assert [p.package for p in history.changed()] == ["p"]


def test_crash_buckets_first_and_last_seen(make_run: MakeRun, t0: datetime) -> None:
    history = build_history(_runs(make_run, t0))
    buckets = {b.bucket: b for b in history.buckets}
    b1, b2 = buckets["b1"], buckets["b2"]
    assert (history.runs[b1.first_seen].run_id, history.runs[b1.last_seen].run_id) == ("b", "a")
    assert b1.runs_seen == 2 and b1.packages == ("oscillates", "unrepro")
    assert (b2.first_seen, b2.last_seen, b2.runs_seen, b2.packages) == (1, 2, 2, ("regressed",))
    assert b1.signature.startswith("SIGSEGV:b1")


def test_the_narrow_reader_gives_the_same_history(make_run: MakeRun, t0: datetime) -> None:
    loaded = _runs(make_run, t0)
    paths = [run.path for run in loaded]
    assert all(_quick(p / "events.jsonl") is not None for p in paths)  # the narrow way
    assert load_history(paths) == build_history(loaded)
    assert read_rows(paths[0]).run_id == "c"


def test_odd_files_give_the_same_history_too(make_run: MakeRun, t0: datetime) -> None:
    loaded = _runs(make_run, t0)
    paths = [run.path for run in loaded]
    events = paths[1] / "events.jsonl"
    lines = events.read_text().splitlines()
    # another writer's spacing for one result, and a torn line at the end of another run
    index = next(
        i
        for i, line in enumerate(lines)
        if '"package":"steady"' in line and "package_finished" in line
    )
    lines[index] = json.dumps(json.loads(lines[index]), indent=None)
    events.write_text("\n".join(lines) + "\n")
    with (paths[2] / "events.jsonl").open("a") as handle:
        handle.write('{"type":"package_finished","run_id":"a","pack')
    # a line that only mentions the type is not a result, for either reader
    with (paths[0] / "events.jsonl").open("a") as handle:
        handle.write('{"type":"step_finished","run_id":"c","seq":500,"ts":"2025-03-01T13:00:00Z",')
        handle.write('"package":"steady","step":"test","last_lines":["package_finished"]}\n')
    assert all(_quick(p / "events.jsonl") is not None for p in paths)
    assert load_history(paths) == build_history([load_run(p) for p in paths])
    steady = next(p for p in load_history(paths).packages if p.package == "steady")
    assert steady.outcomes == [Outcome.PASS] * 3


def test_a_run_without_run_started_is_read_in_full(make_run: MakeRun, t0: datetime) -> None:
    run = make_run("bare", start=t0, started=False)
    run.package("p", "crash", bucket="b9")
    run.writer.close()
    assert _quick(run.path / "events.jsonl") is None
    history = load_history([run.path])
    assert history == build_history([load_run(run.path)])
    assert [r.run_id for r in history.runs] == ["bare"]
    assert history.buckets[0].bucket == "b9"


def test_many_runs_read_in_parallel_give_the_same_history(make_run: MakeRun, t0: datetime) -> None:
    loaded = _runs(make_run, t0)
    paths = [run.path for run in loaded] * 3  # enough runs for the parallel reader
    from reporter.model.history_load import _PARALLEL_FROM

    assert len(paths) >= _PARALLEL_FROM
    assert load_history(paths) == build_history([load_run(p) for p in paths])

"""The free-threading view: packages by category, TSan buckets over packages and runs."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from normalized_events import CrashInfo, Outcome, RaceInfo
from reporter import build_history, load_history, load_run
from reporter.cli import app
from reporter.model.freethreading import categories, free_threading_view
from typer.testing import CliRunner

MakeRun = Callable[..., Any]

RACE = RaceInfo(
    kind="data-race",
    signature="tsan:data-race | dictobject.c:_PyDict_SetItem | dictobject.c:_PyDict_GetItem",
    bucket="race0000beef",
    count=3,
    frames=["dictobject.c:_PyDict_SetItem", "dictobject.c:_PyDict_GetItem"],
    modules=["python"],
    log_path="logs/a/evidence/test/race-race0000beef.txt",
)
DEADLOCK = CrashInfo(
    kind="deadlock",
    headline="every thread waited on a lock",
    frames=["locks.py:take_a", "locks.py:take_b"],
    signature="deadlock | every thread waited on a lock | locks.py:take_a | locks.py:take_b",
    bucket="dead00000001",
    stderr_path="logs/d/evidence/test/stacks.txt",
)


def _hunt(run: Any) -> None:
    run.package("crashy", "crash", extra={"gil": "off"}, crash_facts={"gil_off_only": True})
    run.package("d", "hang", extra={"gil": "off", "crash": DEADLOCK})
    run.package("spinner", "hang", extra={"gil": "off"})
    run.package(
        "f",
        "fail",
        extra={
            "gil": "off",
            "iterations": 3,
            "iteration_outcomes": [Outcome.PASS, Outcome.FAIL, Outcome.PASS],
            "flaky_tests": ["tests/test_c.py::test_count"],
        },
    )
    run.package("g", "pass", extra={"gil": "off", "gil_enabled_by": ["g._legacy"]})
    run.package("a", "pass", extra={"gil": "off", "races": [RACE]})
    run.package("b", "pass", extra={"gil": "off", "races": [RACE.model_copy(update={"count": 1})]})
    run.package("fine", "pass", extra={"gil": "off"})
    run.package("plain", "pass")  # nothing of free threading: not in the view
    run.finish()


def test_packages_by_category_with_their_evidence(make_run: MakeRun, t0: datetime) -> None:
    made = make_run("ft", start=t0)
    _hunt(made)
    run = load_run(made.path)
    view = free_threading_view(run.results.values())
    assert view is not None
    placed = {(p.category, p.result.package): p for p in view.placed}
    assert set(placed) == {
        ("crash", "crashy"),
        ("deadlock", "d"),
        ("hang", "spinner"),
        ("flaky", "f"),
        ("gil re-enabled", "g"),
        ("races", "a"),
        ("races", "b"),
        ("works", "fine"),
    }
    assert placed["crash", "crashy"].detail.endswith("gone with the GIL on")
    assert placed["deadlock", "d"].evidence == "logs/d/evidence/test/stacks.txt"
    assert placed["flaky", "f"].detail == "tests/test_c.py::test_count (pass, fail, pass)"
    assert placed["gil re-enabled", "g"].detail == "g._legacy"
    [bucket] = view.races
    assert (bucket.reports, bucket.packages) == (4, ["a", "b"])
    assert categories(run.results["plain", "default"]) == ["works"]


def test_the_summary_shows_the_view_and_buckets_the_deadlock(
    make_run: MakeRun, t0: datetime
) -> None:
    made = make_run("ft", start=t0)
    _hunt(made)
    runner = CliRunner()
    as_json = runner.invoke(app, ["summary", str(made.path), "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    counts = data["free_threading"]["counts"]
    assert counts["races"] == 2 and counts["deadlock"] == 1 and counts["works"] == 1
    assert [b["bucket"] for b in data["free_threading"]["race_buckets"]] == ["race0000beef"]
    assert "dead00000001" in {b["bucket"] for b in data["crash_buckets"]}
    shown = {r["package"]: r for r in data["results"]}
    assert shown["f"]["flaky_tests"] == ["tests/test_c.py::test_count"]
    assert shown["g"]["gil_enabled_by"] == ["g._legacy"]
    text = runner.invoke(app, ["summary", str(made.path)])
    assert "Free threading" in text.stdout and "gil re-enabled" in text.stdout


def test_a_race_seen_in_two_runs_is_one_history_bucket(make_run: MakeRun, t0: datetime) -> None:
    runs, paths = [], []
    for day, name in enumerate(["n1", "n2"]):
        made = make_run(name, start=t0 + timedelta(days=day))
        made.package("a", "pass", extra={"races": [RACE]})
        made.package("d", "hang", extra={"crash": DEADLOCK})
        made.finish()
        runs.append(load_run(made.path))
        paths.append(made.path)
    for history in (build_history(runs), load_history(paths)):  # the full and quick readers
        buckets = {b.bucket: b for b in history.buckets}
        assert buckets["race0000beef"].runs_seen == 2
        assert buckets["race0000beef"].packages == ("a",)
        assert buckets["dead00000001"].runs_seen == 2

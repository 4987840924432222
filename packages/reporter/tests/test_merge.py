"""Merging shard runs: kept results, duplicates, gaps, and a real merged run directory."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from normalized_events import Outcome, read_events
from reporter import MergeError, load_run, merge_runs, summarize, write_merge
from reporter.model.merge import merged_run_id

MakeRun = Callable[..., Any]
SELECTION = ["a", "b", "c", "d", "e", "f"]


def _shards(make_run: MakeRun, t0: datetime) -> list[Any]:
    one = make_run("hunt7-shard-1", start=t0, shard="1/3", selection=SELECTION)
    one.package("a", "pass")
    one.package("b", "crash", bucket="s1")
    one.package("c", "pass")  # also in shard 2 (a CI job retried with other bounds)
    one.finish()
    two = make_run(
        "hunt7-shard-2", start=t0 + timedelta(minutes=1), shard="2/3", selection=SELECTION
    )
    two.package("c", "crash", bucket="s2")
    two.package("d", "fail")
    two.package("e", "pass", finished=False)  # killed mid-package
    # no run_finished: the job was killed
    two.writer.close()
    # shard 3/3 never arrived; f is in it
    return [one, two]


def test_plan_keeps_results_and_reports_duplicates_and_gaps(
    make_run: MakeRun, t0: datetime
) -> None:
    shards = _shards(make_run, t0)
    plan = merge_runs([load_run(s.path) for s in shards])
    assert plan.run_id == "hunt7-shard"
    results = plan.results()
    assert {k[0]: r.outcome for k, r in results.items()} == {
        "a": Outcome.PASS,
        "b": Outcome.CRASH,
        "c": Outcome.CRASH,  # the crash is kept over the pass
        "d": Outcome.FAIL,
    }
    (duplicate,) = plan.duplicates
    assert (duplicate.package, duplicate.kept, duplicate.kept_outcome) == (
        "c",
        "hunt7-shard-2",
        Outcome.CRASH,
    )
    assert duplicate.dropped == (("hunt7-shard-1", Outcome.PASS),)
    assert not duplicate.outcomes_agree
    gaps = [(g.kind, g.detail) for g in plan.gaps]
    assert gaps == [
        ("missing-shard", "shard 3/3 is not among the inputs"),
        ("unfinished-shard", "hunt7-shard-2 has no run_finished"),
        ("unfinished-package", "e [default] started in hunt7-shard-2 but never finished"),
        ("missing-result", "f [default] has no result in any shard"),
    ]


def test_agreeing_duplicates_keep_the_latest(make_run: MakeRun, t0: datetime) -> None:
    one = make_run("s1", start=t0)
    one.package("a", "fail", reason="first")
    one.finish()
    two = make_run("s2", start=t0 + timedelta(hours=1))
    two.package("a", "fail", reason="second")
    two.finish()
    plan = merge_runs([load_run(two.path), load_run(one.path)])
    assert plan.results()[("a", "default")].reason == "second"
    assert plan.duplicates[0].outcomes_agree
    assert plan.gaps == []  # no selection, no shard numbers: nothing known to be missing


def test_expected_list_given_explicitly(make_run: MakeRun, t0: datetime) -> None:
    one = make_run("s1", start=t0)
    one.package("a", "pass")
    one.finish()
    plan = merge_runs([load_run(one.path)], expected_packages=["a", "z"], run_id="mine")
    assert plan.run_id == "mine"
    assert [(g.kind, g.package) for g in plan.gaps] == [("missing-result", "z")]


def test_written_merge_is_a_run_directory_every_view_reads(
    make_run: MakeRun, t0: datetime, tmp_path: Path
) -> None:
    shards = _shards(make_run, t0)
    plan = merge_runs([load_run(s.path) for s in shards])
    out = write_merge(plan, tmp_path / "merged")
    read = read_events(out / "events.jsonl")
    assert read.problems == [] and not read.torn_tail
    assert [e.seq for e in read.events] == list(range(len(read.events)))
    assert {e.run_id for e in read.known()} == {"hunt7-shard"}
    merged = load_run(out)
    assert merged.run_id == "hunt7-shard"
    assert {k: r.outcome for k, r in merged.results.items()} == {
        k: r.outcome for k, r in plan.results().items()
    }
    assert merged.shard is None
    assert merged.selection() == SELECTION
    assert merged.finish is not None and merged.finish.interrupted  # it has gaps
    assert merged.finish.counts == {Outcome.PASS: 1, Outcome.CRASH: 2, Outcome.FAIL: 1}
    # the kept crash's files come from the shard whose result was kept
    crash = merged.results[("c", "default")].crash
    assert crash is not None and crash.bucket == "s2"
    assert "Segmentation fault" in (merged.read_artifact(crash.stderr_path) or "")
    assert (out / "logs" / "d" / "test.log").is_file()
    assert [s.step.value for s in merged.steps("c")][-1] == "test"
    # the merge record travels with the run, and the summary shows it
    record = merged.merge_info
    assert record is not None and len(record["sources"]) == 2
    assert [g["kind"] for g in record["gaps"]][:1] == ["missing-shard"]
    summary = summarize(merged)
    assert summary.not_run == [("e", "default"), ("f", "default")]
    assert json.loads((out / "run.json").read_text())["merged_from"] == [
        "hunt7-shard-1",
        "hunt7-shard-2",
    ]


def test_merge_refuses_to_overwrite_and_needs_inputs(
    make_run: MakeRun, t0: datetime, tmp_path: Path
) -> None:
    one = make_run("s1", start=t0)
    one.finish()
    plan = merge_runs([load_run(one.path)])
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "events.jsonl").write_text("")
    with pytest.raises(MergeError, match="already exists and is not empty"):
        write_merge(plan, tmp_path / "taken")
    with pytest.raises(MergeError, match="nothing to merge"):
        merge_runs([])
    (tmp_path / "empty").mkdir()
    assert write_merge(plan, tmp_path / "empty") == tmp_path / "empty"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_shard_warnings(make_run: MakeRun, t0: datetime) -> None:
    a = make_run("a", start=t0, shard="1/2")
    a.finish()
    b = make_run("b", start=t0, shard="1/2", version="3.12.0")
    b.finish()
    plan = merge_runs([load_run(a.path), load_run(b.path)])
    assert "shard 1/2 is given more than once" in plan.warnings
    assert "the shards ran on different interpreters" in plan.warnings
    assert [g.detail for g in plan.gaps] == ["shard 2/2 is not among the inputs"]
    c = make_run("c", start=t0, shard="2/3")
    c.finish()
    plan = merge_runs([load_run(a.path), load_run(c.path)])
    assert any("different partitions" in w for w in plan.warnings)


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        (["hunt42-shard-1of3", "hunt42-shard-2of3"], "hunt42-shard"),
        (["2025-03-01T12-00-00Z-1", "2025-03-01T12-00-00Z-2"], "2025-03-01T12-00-00Z"),
        (["nightly_a", "nightly_b"], "nightly"),
        (["one"], "one"),
        (["x", "y"], "merged-x"),
        (["abc", "abd"], "merged-abc"),
    ],
)
def test_merged_run_id(ids: list[str], expected: str) -> None:
    assert merged_run_id(ids) == expected

"""The summary of one run, computed from a run directory written event by event."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from normalized_events import Condition, Outcome
from reporter import load_run, summarize

MakeRun = Callable[..., Any]


def test_summary_of_a_run_with_every_kind_of_result(make_run: MakeRun) -> None:
    run = make_run("r1", selection=["a", "b", "c", "d", "e", "f", "g", "h", "never", "cut"])
    run.package("a", "pass", duration=30)
    run.package("b", "crash", bucket="site1", reproducible=True, duration=5)
    run.package("c", "crash", bucket="site1", reproducible=False)
    run.package("d", "crash", bucket="site2", reproducible=False)
    run.package(
        "e",
        "config_error",
        reason="ModuleNotFoundError: No module named 'hypothesis'",
        duration=1,
    )
    run.package(
        "f",
        "config_error",
        reason="ModuleNotFoundError: No module named 'hypothesis'",
    )
    run.package(
        "g",
        "install_error",
        reason="pip install failed (exit 1)",
        last_lines=["ModuleNotFoundError: No module named 'setuptools_scm'"],
    )
    run.package("h", "skipped", reason="skip_versions: 3.13 not supported")
    run.package("cut", "pass", finished=False)
    run.finish(interrupted=True)

    summary = summarize(load_run(run.path), slowest=3)
    assert summary.total == 8
    assert summary.counts[Outcome.CRASH] == 3
    assert summary.counts[Outcome.CONFIG_ERROR] == 2
    assert summary.counts[Outcome.HANG] == 0  # every outcome present
    assert list(summary.counts) == list(Outcome)

    first, second = summary.buckets
    assert (first.bucket, first.packages, first.reproducibility) == (
        "site1",
        ["b", "c"],
        "mixed",
    )
    assert (second.bucket, second.packages, second.reproducibility) == ("site2", ["d"], "flaky")
    assert first.reproducers == ["crashes/b/reproduce.sh", "crashes/c/reproduce.sh"]

    groups = {(g.outcome, g.reason): g for g in summary.reason_groups}
    hypo = groups[(Outcome.CONFIG_ERROR, "ModuleNotFoundError: No module named 'hypothesis'")]
    assert hypo.keys == (("e", "default"), ("f", "default"))
    assert hypo.missing_modules == ("hypothesis",)
    install = groups[(Outcome.INSTALL_ERROR, "pip install failed (exit 1)")]
    assert install.missing_modules == ("setuptools_scm",)  # read from the step's last lines
    assert summary.missing_modules == {"hypothesis": ["e", "f"], "setuptools_scm": ["g"]}

    assert [r.package for r in summary.slowest] == ["a", "b", "c"]
    assert [(r.package, r.reason) for r in summary.skipped] == [
        ("h", "skip_versions: 3.13 not supported")
    ]
    assert summary.unfinished == [("cut", "default")]
    assert summary.not_run == [("never", "default")]
    assert sum(n for _, n in summary.durations) == 7  # skipped packages have no duration
    assert summary.run.interrupted


def test_wall_time_is_real_time_not_the_sum_of_durations(make_run: MakeRun) -> None:
    run = make_run("r1")
    for name in "abcdef":
        run.package(name, "pass", duration=100)  # as if run by parallel workers
    run.finish()
    loaded = load_run(run.path)
    assert loaded.wall_s is not None and loaded.wall_s < 60
    assert sum(r.duration_s for r in loaded.results.values()) == 600


def test_conditions_are_reported_separately(make_run: MakeRun) -> None:
    conditions = [Condition(name="nojit", env={"PYTHON_JIT": "0"}), Condition(name="jit")]
    run = make_run("ab", conditions=conditions, selection=["a", "b"])
    run.package("a", "pass", condition="nojit")
    run.package("a", "crash", condition="jit", bucket="x")
    run.package("b", "pass", condition="nojit")
    run.finish()
    loaded = load_run(run.path)
    summary = summarize(loaded)
    assert summary.counts[Outcome.PASS] == 2 and summary.counts[Outcome.CRASH] == 1
    assert loaded.conditions() == ["nojit", "jit"]
    assert summary.not_run == [("b", "jit")]
    assert summary.buckets[0].results[0].condition == "jit"


def test_empty_run(make_run: MakeRun) -> None:
    run = make_run("r0")
    summary = summarize(load_run(run.path))
    assert summary.total == 0 and summary.buckets == [] and summary.slowest == []
    assert summary.run.interrupted  # no run_finished yet


def test_selection_recorded_in_the_options_counts_too(t0: Any) -> None:
    from normalized_events import (
        HostInfo,
        InterpreterInfo,
        PackageFinished,
        RegistryInfo,
        RunOptions,
        RunStarted,
    )
    from reporter import RunData

    start = RunStarted(
        run_id="o",
        ts=t0,
        apiary_version="0",
        interpreter=InterpreterInfo(path="p", version="3.13.0"),
        host=HostInfo(hostname="h", platform="linux"),
        registry=RegistryInfo(path="r"),
        options=RunOptions.model_validate({"selection": ["a", "b"]}),
        selected=["c"],
    )
    run = RunData.from_events(
        [start, PackageFinished(run_id="o", package="a", outcome=Outcome.PASS)]
    )
    assert run.selection() == ["c", "a", "b"]
    assert summarize(run).not_run == [("b", "default"), ("c", "default")]


def test_install_failures_by_kind(make_run: MakeRun) -> None:
    from reporter.formats import Format
    from reporter.output import render_summary

    run = make_run("kinds")
    run.package("gmpy", "install_error", install_failure="c_api")
    run.package("pymssql", "install_error", install_failure="system_library")
    run.package("lxml", "install_error", install_failure="system_library")
    run.package("old-run", "install_error")  # written before kinds existed
    run.package("fine", "pass")
    run.finish()
    summary = summarize(load_run(run.path))
    assert summary.install_failures == {
        "system_library": ["lxml", "pymssql"],
        "c_api": ["gmpy"],
        "other": ["old-run"],
    }
    text = render_summary(summary, Format.MARKDOWN)
    assert "Install failures by kind" in text and "system_library" in text
    data = json.loads(render_summary(summary, Format.JSON))
    assert data["install_failures"]["c_api"] == ["gmpy"]
